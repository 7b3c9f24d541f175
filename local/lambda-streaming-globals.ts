import type { Writable } from 'node:stream';

/** The response metadata Lambda's `HttpResponseStream.from` sends before the body. */
export interface ResponsePrelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

/** A response stream that can receive the prelude (the local runtime's stand-in for Lambda's). */
export interface PreludeAwareStream extends Writable {
  setPrelude(prelude: ResponsePrelude): void;
}

/**
 * Installs the `awslambda` global that the Node.js Lambda runtime provides to response-streaming handlers
 * (`streamifyResponse`, `HttpResponseStream.from`), unless a real one exists. Must run before handlers load.
 */
export function installLambdaStreamingGlobals(): void {
  const global = globalThis as { awslambda?: Record<string, unknown> };
  // Other libraries (the AWS SDK's invoke store) may have created the object already, without these members.
  global.awslambda ??= {};
  const awslambda = global.awslambda;
  awslambda.streamifyResponse ??= <T>(handler: T): T => handler;
  awslambda.HttpResponseStream ??= {
    from(stream: PreludeAwareStream, prelude: ResponsePrelude): PreludeAwareStream {
      stream.setPrelude(prelude);
      return stream;
    },
  };
}
