import type { Readable } from 'node:stream';

/** An HTTP request as the gateway sees it, whatever carried it (API Gateway event, local server). */
export interface GatewayRequest {
  method: string;
  /** Path without the stage, e.g. `/v1/chat/completions`. */
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  query: Record<string, string>;
  body: Buffer;
  /** Unique id of this request, echoed as `x-gateway-request-id`. */
  requestId: string;
  /** Time left before the Lambda (or local) deadline, in ms. */
  remainingMs: number;
  /** Aborts when the client disconnects. */
  signal?: AbortSignal;
}

/** An HTTP response; `body` streams when it is a Readable. */
export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Readable;
}
