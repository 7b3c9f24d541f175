import { type ApiFormat, apiErrorBody } from '../http/api-errors';
import type { GatewayResponse } from './gateway-http';

/** A mistake of the client's, safe to show: a status, a message and a machine-readable code. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Type guard that works across bundles (no instanceof). */
export function isClientError(error: unknown): error is ClientError {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ClientError';
}

/** A JSON error response in the client's API format. */
export function errorResponse(
  format: ApiFormat,
  status: number,
  message: string,
  code: string | null,
  headers: Record<string, string> = {},
): GatewayResponse {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: apiErrorBody(format, status, message, code),
  };
}
