import Anthropic from '@anthropic-ai/sdk';
import { ApiError as GenAiApiError } from '@google/genai';
import OpenAI from 'openai';
import type { ProviderType } from '../../shared/config/schema';
import { anthropicClient, GATEWAY_KEY, genAiClient, openAiClient } from './gateway-harness';

/** What one official-SDK call produced, the same shape for all three SDKs. */
export interface SdkReply {
  /** Text in arrival order: each streamed delta, or the whole text once for a non-streaming call. */
  pieces: string[];
  /** What the SDK handed over, in order: Anthropic's event types; `chunk` per OpenAI/Gemini chunk; `response` once. */
  events: string[];
  /** The final stop reason as the SDK reports it (`stop`, `end_turn`, `STOP`). */
  finishReason: string | null;
  /** Final token usage. */
  usage: { input: number; output: number } | null;
  /** The format's end arrived: OpenAI's finish_reason chunk, Anthropic's message_stop, Gemini's finishReason. */
  ended: boolean;
  /** The HTTP response headers of the call (through the SDK's raw-response access, or from its error). */
  headers: Headers | null;
  /** What the SDK threw (from the call or while iterating the stream), else undefined. */
  error: unknown;
}

/** One official SDK, driven the same way for every scenario. */
export interface SdkSurface {
  sdk: 'OpenAI' | 'Anthropic' | 'Gemini';
  /** The provider type its requests route to. */
  provider: ProviderType;
  /** The model name it asks for (routed by prefix). */
  model: string;
  /** The stop reason of a normal end. */
  finishReason: string;
  /** The events a healthy stream of the fake's three-word text hands over, in order. */
  healthyStreamEvents: string[];
  /** Makes one call against `baseUrl` (a gateway or a fake) with `key`; never throws: errors land in `error`. */
  call(baseUrl: string, options: { stream: boolean; key?: string }): Promise<SdkReply>;
  /** The SDK's API error type: an HTTP error status, or an error event in its stream. */
  isApiError(error: unknown): boolean;
  /** The SDK's authentication error (OpenAI/Anthropic `AuthenticationError`; genai `ApiError` with status 401). */
  isAuthenticationError(error: unknown): boolean;
  /** The HTTP status the SDK's error carries, if any. */
  statusOf(error: unknown): number | undefined;
}

function emptyReply(): SdkReply {
  return { pieces: [], events: [], finishReason: null, usage: null, ended: false, headers: null, error: undefined };
}

const openAiSurface: SdkSurface = {
  sdk: 'OpenAI',
  provider: 'openai',
  model: 'gpt-4o-mini',
  finishReason: 'stop',
  healthyStreamEvents: ['chunk', 'chunk', 'chunk', 'chunk'],
  async call(baseUrl, { stream, key = GATEWAY_KEY }) {
    const reply = emptyReply();
    const client = openAiClient(baseUrl, key);
    const params = { model: this.model, messages: [{ role: 'user' as const, content: 'Hello' }] };
    try {
      if (!stream) {
        const { data, response } = await client.chat.completions.create(params).withResponse();
        reply.headers = response.headers;
        reply.events.push('response');
        reply.pieces.push(data.choices[0]?.message.content ?? '');
        reply.finishReason = data.choices[0]?.finish_reason ?? null;
        reply.ended = reply.finishReason !== null;
        if (data.usage) reply.usage = { input: data.usage.prompt_tokens, output: data.usage.completion_tokens };
        return reply;
      }
      const { data, response } = await client.chat.completions
        .create({ ...params, stream: true, stream_options: { include_usage: true } })
        .withResponse();
      reply.headers = response.headers;
      for await (const chunk of data) {
        reply.events.push('chunk');
        const choice = chunk.choices[0];
        if (choice?.delta.content) reply.pieces.push(choice.delta.content);
        if (choice?.finish_reason) {
          reply.finishReason = choice.finish_reason;
          reply.ended = true;
        }
        if (chunk.usage) reply.usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens };
      }
    } catch (error) {
      reply.error = error;
      if (error instanceof OpenAI.APIError && error.headers) reply.headers ??= error.headers;
    }
    return reply;
  },
  isApiError: (error) => error instanceof OpenAI.APIError,
  isAuthenticationError: (error) => error instanceof OpenAI.AuthenticationError,
  statusOf: (error) => (error instanceof OpenAI.APIError ? error.status : undefined),
};

const anthropicSurface: SdkSurface = {
  sdk: 'Anthropic',
  provider: 'anthropic',
  model: 'claude-sonnet-4-6',
  finishReason: 'end_turn',
  healthyStreamEvents: [
    'message_start',
    'content_block_start',
    'content_block_delta',
    'content_block_delta',
    'content_block_delta',
    'content_block_stop',
    'message_delta',
    'message_stop',
  ],
  async call(baseUrl, { stream, key = GATEWAY_KEY }) {
    const reply = emptyReply();
    const client = anthropicClient(baseUrl, key);
    const params = { model: this.model, max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hello' }] };
    try {
      if (!stream) {
        const { data, response } = await client.messages.create(params).withResponse();
        reply.headers = response.headers;
        reply.events.push('response');
        reply.pieces.push(data.content.map((block) => (block.type === 'text' ? block.text : '')).join(''));
        reply.finishReason = data.stop_reason;
        reply.ended = true;
        reply.usage = { input: data.usage.input_tokens, output: data.usage.output_tokens };
        return reply;
      }
      // The streaming helper most apps use: it also assembles the final message from the events.
      const { data: messageStream, response } = await client.messages.stream(params).withResponse();
      reply.headers = response.headers;
      for await (const event of messageStream) {
        reply.events.push(event.type);
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
          reply.pieces.push(event.delta.text);
        if (event.type === 'message_stop') reply.ended = true;
      }
      const final = await messageStream.finalMessage();
      reply.finishReason = final.stop_reason;
      reply.usage = { input: final.usage.input_tokens, output: final.usage.output_tokens };
    } catch (error) {
      reply.error = error;
      if (error instanceof Anthropic.APIError && error.headers) reply.headers ??= error.headers;
    }
    return reply;
  },
  isApiError: (error) => error instanceof Anthropic.APIError,
  isAuthenticationError: (error) => error instanceof Anthropic.AuthenticationError,
  statusOf: (error) => (error instanceof Anthropic.APIError ? error.status : undefined),
};

const geminiSurface: SdkSurface = {
  sdk: 'Gemini',
  provider: 'gemini',
  model: 'gemini-2.5-flash',
  finishReason: 'STOP',
  healthyStreamEvents: ['chunk', 'chunk', 'chunk'],
  async call(baseUrl, { stream, key = GATEWAY_KEY }) {
    const reply = emptyReply();
    const { genai, responses } = genAiClient(baseUrl, key);
    const params = { model: this.model, contents: 'Hello' };
    const record = (response: {
      candidates?: { finishReason?: string }[];
      usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number };
      sdkHttpResponse?: { headers?: Record<string, string> };
    }) => {
      if (!reply.headers && response.sdkHttpResponse?.headers)
        reply.headers = new Headers(response.sdkHttpResponse.headers);
      const finishReason = response.candidates?.[0]?.finishReason;
      if (finishReason) {
        reply.finishReason = finishReason;
        reply.ended = true;
      }
      const usage = response.usageMetadata;
      if (usage) reply.usage = { input: usage.promptTokenCount ?? 0, output: usage.candidatesTokenCount ?? 0 };
    };
    try {
      if (!stream) {
        const response = await genai.models.generateContent(params);
        reply.events.push('response');
        reply.pieces.push(response.text ?? '');
        record(response);
        return reply;
      }
      for await (const chunk of await genai.models.generateContentStream(params)) {
        reply.events.push('chunk');
        if (chunk.text) reply.pieces.push(chunk.text);
        record(chunk);
      }
    } catch (error) {
      reply.error = error;
      // genai's ApiError carries no headers: take them from the response its fetch received.
      reply.headers ??= responses.at(-1)?.headers ?? null;
    }
    return reply;
  },
  isApiError: (error) => error instanceof GenAiApiError,
  isAuthenticationError: (error) => error instanceof GenAiApiError && error.status === 401,
  statusOf: (error) => (error instanceof GenAiApiError ? error.status : undefined),
};

/** The three official SDKs the gateway serves (SPEC §2). */
export const SDK_SURFACES: SdkSurface[] = [openAiSurface, anthropicSurface, geminiSurface];
