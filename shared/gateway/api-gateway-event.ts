import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { GatewayRequest } from './gateway-http';

/** Time kept before the Lambda deadline to answer in the client's format (ms). */
const LAMBDA_DEADLINE_MARGIN_MS = 500;

/** Turns an API Gateway REST proxy event into the gateway's request (lower-case headers, decoded body). */
export function gatewayRequestFromEvent(
  event: APIGatewayProxyEvent,
  context: Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>,
): GatewayRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) query[name] = value;
  }
  const body = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    headers,
    query,
    body,
    requestId: event.requestContext?.requestId || context.awsRequestId,
    remainingMs: context.getRemainingTimeInMillis(),
    // The Lambda deadline as a signal (STYLE habit 10): waits and retries stop just before it.
    signal: AbortSignal.timeout(Math.max(1, context.getRemainingTimeInMillis() - LAMBDA_DEADLINE_MARGIN_MS)),
  };
}
