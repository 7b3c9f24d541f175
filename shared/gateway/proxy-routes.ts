import type { ApiFormat } from '../http/api-errors';
import { ClientError } from './client-error';
import type { GatewayRequest } from './gateway-http';

/** Lambda's request payload limit, which API Gateway shares (bytes). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** What a proxied request asks for, read from its path and body. */
export interface ProxyCall {
  format: ApiFormat;
  model: string;
  /** The client asked for a streamed answer. */
  stream: boolean;
  body: Record<string, unknown>;
}

/** One route of the proxy API (SPEC §2). */
export interface ProxyRoute {
  method: 'GET' | 'POST';
  path: RegExp;
  format: ApiFormat;
  /** Reads and validates the call; throws ClientError for bad input. Absent for routes the gateway answers itself. */
  parse?: (request: GatewayRequest, match: RegExpExecArray) => ProxyCall;
}

/** Parses a JSON object body, with the client-facing errors for every way it can be wrong. */
export function parseJsonBody(request: GatewayRequest): Record<string, unknown> {
  if (request.body.length > MAX_BODY_BYTES) {
    throw new ClientError(
      413,
      `Request body is ${request.body.length} bytes; the limit is ${MAX_BODY_BYTES}`,
      'request_too_large',
    );
  }
  const contentType = request.headers['content-type'];
  if (contentType && !/^application\/([a-z.+-]*\+)?json\b/i.test(contentType.trim())) {
    throw new ClientError(
      415,
      `Unsupported content type "${contentType.slice(0, 100)}"; send application/json`,
      'unsupported_media_type',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString('utf8'));
  } catch (error) {
    throw new ClientError(400, `Malformed JSON body: ${(error as Error).message}`, 'invalid_json');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ClientError(400, 'The request body must be a JSON object', 'invalid_request');
  }
  return body as Record<string, unknown>;
}

function requireModel(body: Record<string, unknown>): string {
  if (typeof body.model !== 'string' || body.model.trim().length === 0) {
    throw new ClientError(
      400,
      "Missing required parameter: 'model' (a non-empty string)",
      'missing_required_parameter',
    );
  }
  return body.model;
}

function requireArray(body: Record<string, unknown>, field: string): void {
  if (!Array.isArray(body[field])) {
    throw new ClientError(400, `Missing required parameter: '${field}' (an array)`, 'missing_required_parameter');
  }
}

const chatCompletions = (request: GatewayRequest): ProxyCall => {
  const body = parseJsonBody(request);
  const model = requireModel(body);
  requireArray(body, 'messages');
  return { format: 'openai', model, stream: body.stream === true, body };
};

const anthropicMessages = (request: GatewayRequest): ProxyCall => {
  const body = parseJsonBody(request);
  const model = requireModel(body);
  requireArray(body, 'messages');
  return { format: 'anthropic', model, stream: body.stream === true, body };
};

const geminiGenerate = (request: GatewayRequest, match: RegExpExecArray): ProxyCall => {
  const body = parseJsonBody(request);
  requireArray(body, 'contents');
  let model: string;
  try {
    model = decodeURIComponent(match[1]);
  } catch {
    throw new ClientError(400, 'The model name in the path is not valid URL encoding', 'invalid_request');
  }
  return { format: 'gemini', model, stream: match[2] === 'streamGenerateContent', body };
};

/** The routes the proxy serves. */
export const PROXY_ROUTES: ProxyRoute[] = [
  { method: 'POST', path: /^\/v1\/chat\/completions$/, format: 'openai', parse: chatCompletions },
  { method: 'POST', path: /^\/v1\/messages$/, format: 'anthropic', parse: anthropicMessages },
  {
    method: 'POST',
    path: /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/,
    format: 'gemini',
    parse: geminiGenerate,
  },
  { method: 'GET', path: /^\/v1\/models$/, format: 'openai' },
];

/** The format a path's client speaks, for errors on paths the gateway does not serve. */
export function formatForPath(path: string): ApiFormat {
  if (path.startsWith('/v1beta/')) return 'gemini';
  if (path.startsWith('/v1/messages')) return 'anthropic';
  return 'openai';
}
