/** The API formats clients speak; each has its own error shape (SPEC §2). */
export type ApiFormat = 'openai' | 'anthropic' | 'gemini';

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'invalid_request_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_exceeded',
  503: 'service_unavailable',
};
const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'overloaded_error',
};
const GEMINI_STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'INVALID_ARGUMENT',
  413: 'INVALID_ARGUMENT',
  415: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  503: 'UNAVAILABLE',
};

/** The JSON error body for `status` in the client's API format. `code` is a machine-readable reason. */
export function apiErrorBody(format: ApiFormat, status: number, message: string, code: string | null = null): string {
  switch (format) {
    case 'openai':
      return JSON.stringify({
        error: {
          message,
          type: OPENAI_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
          param: null,
          code,
        },
      });
    case 'anthropic':
      return JSON.stringify({
        type: 'error',
        error: { type: ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message },
      });
    case 'gemini':
      return JSON.stringify({
        error: {
          code: status,
          message,
          status: GEMINI_STATUSES[status] ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT'),
        },
      });
  }
}
