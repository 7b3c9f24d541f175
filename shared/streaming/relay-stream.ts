import { Readable } from 'node:stream';
import type { ApiFormat } from '../http/api-errors';
import { networkErrorKind } from '../resilience/classify';
import { streamErrorEvent } from './stream-error-event';
import type { StreamWatcher } from './stream-watcher';

/** A failure of the upstream body after its first byte went to the client. */
export interface StreamFailure {
  message: string;
  /** False when the gateway's own request budget ran out: the instance was not at fault. */
  countsAgainstInstance: boolean;
}

/** How the relay reports and cleans up. */
export interface RelayOptions {
  format: ApiFormat;
  /** Watches SSE bodies for their proper end and for error events; null for plain (JSON) bodies. */
  watcher: StreamWatcher | null;
  /** Aborts the upstream request (client went away). */
  abort: (reason: string) => void;
  /** Records the failure (the breaker write); awaited before the stream ends so Lambda does not freeze it. */
  onFailure: (failure: StreamFailure) => Promise<void>;
  /** Releases timers and listeners once the upstream body is finished either way. */
  cleanup: () => void;
  /** Why the upstream request was aborted, if it was ('request_deadline', 'instance_timeout', …). */
  abortReason?: () => unknown;
}

/**
 * Relays an upstream body to the client chunk by chunk, as it arrives. If the upstream fails or ends early after the
 * first byte, an SSE stream ends with an explicit error event in the client's format (never a silent clean end),
 * a JSON body is cut with an error, and the failure is recorded. Destroying the relay aborts the upstream request.
 */
export class RelayStream extends Readable {
  private first: Uint8Array | null;
  private finished = false;
  /** The last bytes relayed, to know whether the client's stream stands at an event boundary. */
  private tail = '';

  constructor(
    first: Uint8Array | null,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly options: RelayOptions,
  ) {
    super();
    this.first = first;
  }

  override _read(): void {
    if (this.first) {
      const chunk = this.first;
      this.first = null;
      this.relay(chunk);
      return;
    }
    this.reader.read().then(
      ({ done, value }) => {
        if (done) return this.finish(null);
        this.options.watcher?.push(value);
        this.relay(value);
      },
      (error: unknown) => this.finish(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.finished) {
      this.finished = true;
      this.options.abort('client disconnected');
      this.reader.cancel().catch(() => {});
      this.options.cleanup();
    }
    callback(error);
  }

  private relay(chunk: Uint8Array): void {
    this.tail = (this.tail + Buffer.from(chunk.subarray(Math.max(0, chunk.byteLength - 4))).toString('latin1')).slice(
      -4,
    );
    this.push(chunk);
  }

  private finish(error: unknown): void {
    if (this.finished || this.destroyed) return;
    this.finished = true;
    const { watcher, format } = this.options;
    const upstreamError = watcher?.error;
    const truncated = watcher !== null && !watcher.complete && !upstreamError;
    if (!error && !truncated && !upstreamError) {
      this.options.cleanup();
      this.push(null);
      return;
    }
    const reason = this.options.abortReason?.();
    const budgetSpent = error !== null && reason === 'request_deadline';
    const message = budgetSpent
      ? 'the request ran out of its time budget mid-stream'
      : reason === 'instance_timeout'
        ? 'upstream exceeded its request timeout mid-stream'
        : error
          ? `upstream stream failed after the first byte (${networkErrorKind(error)})`
          : upstreamError
            ? `upstream sent an error event mid-stream: ${upstreamError.message}`
            : 'upstream stream ended before its final event';
    // The upstream's own error event already reached the client; otherwise we add one.
    if (watcher && !upstreamError) {
      // Cut mid-event: close that event first, so ours is parsed as an event of its own.
      const boundary = this.tail === '' || this.tail.endsWith('\n\n') || this.tail.endsWith('\r\n\r\n');
      this.push(Buffer.from(`${boundary ? '' : '\n\n'}${streamErrorEvent(format, message)}`));
    }
    this.options
      .onFailure({ message, countsAgainstInstance: !budgetSpent })
      .catch(() => {})
      .finally(() => {
        this.options.cleanup();
        if (watcher) this.push(null);
        else this.destroy(new Error(message));
      });
  }
}
