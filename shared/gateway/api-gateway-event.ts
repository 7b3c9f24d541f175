import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { GatewayRequest } from './gateway-http';

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
  };
}
