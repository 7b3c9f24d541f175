import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { PreludeAwareStream, ResponsePrelude } from './lambda-streaming-globals';

/**
 * The Lambda response stream, written straight to an HTTP response chunk by chunk: the prelude becomes the status
 * line and headers, every write is flushed to the client as it comes (no buffering).
 */
export class LocalResponseStream extends Writable implements PreludeAwareStream {
  private headSent = false;

  constructor(private readonly response: ServerResponse) {
    super();
    // Failing the stream before the handler pipes into it must not be an unhandled 'error' (it would end the process).
    this.on('error', () => {});
    // The client went away before the end: fail the stream, which makes the handler's pipeline abort the upstream.
    response.once('close', () => {
      if (!response.writableFinished) this.destroy(new Error('client disconnected'));
    });
  }

  setPrelude(prelude: ResponsePrelude): void {
    if (this.headSent) return;
    const headers: Record<string, string | string[]> = { ...(prelude.headers ?? {}) };
    if (prelude.cookies?.length) headers['set-cookie'] = prelude.cookies;
    this.response.writeHead(prelude.statusCode ?? 200, headers);
    this.response.flushHeaders();
    this.headSent = true;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.headSent) this.setPrelude({ statusCode: 200, headers: { 'content-type': 'application/octet-stream' } });
    if (this.response.write(chunk)) callback();
    else this.response.once('drain', () => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A body that failed midway must reach the client as a broken response, not a clean end.
    if (error && !this.response.writableFinished) this.response.destroy(error);
    callback(error);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.headSent) this.setPrelude({ statusCode: 200 });
    this.response.end(() => callback());
  }
}
