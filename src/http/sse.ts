/**
 * Server-sent events with a bounded buffer per connection. The events come from a pull-based
 * store follower, so the only buffer is the socket's: after a write the stream waits for the
 * socket to drain before it pulls the next event, and a browser that stops reading for
 * `stallMs`, or lets more than `maxBufferedBytes` pile up, is disconnected (it reconnects with
 * `Last-Event-ID` and resumes). A slow or vanished browser never holds daemon memory.
 */

/** The part of `http.ServerResponse` an event stream writes to. */
export interface SseSink {
  write(chunk: string): boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  destroy(): void;
}

export interface SseLimits {
  /** Bytes queued on the socket beyond which the connection is dropped (default 1 MiB). */
  maxBufferedBytes: number;
  /** How long a full socket may stay full before the connection is dropped (default 10 s). */
  stallMs: number;
  /** Open streams one daemon serves at most (each follows the store; default 64). */
  maxStreams: number;
}

export const DEFAULT_SSE_LIMITS: SseLimits = { maxBufferedBytes: 1024 * 1024, stallMs: 10_000, maxStreams: 64 };

/** One SSE frame: `id`, `event` and the JSON data, each data line prefixed as the format asks. */
export function sseFrame(data: unknown, options: { id?: string; event?: string } = {}): string {
  let frame = '';
  if (options.id !== undefined) frame += `id: ${options.id.replace(/[\r\n]/g, '')}\n`;
  if (options.event !== undefined) frame += `event: ${options.event.replace(/[\r\n]/g, '')}\n`;
  // JSON.stringify escapes newlines inside strings, so the data is one line.
  frame += `data: ${JSON.stringify(data)}\n\n`;
  return frame;
}

/** Why a stream stopped sending. */
export type SseEnd = 'closed' | 'overflow' | 'stalled';

/**
 * Writes frames to one connection, respecting its buffer. `send` resolves when the next frame
 * may be sent, or to an {@link SseEnd} once the connection is gone or was dropped.
 */
export class SseConnection {
  private ended: SseEnd | null = null;

  constructor(
    private readonly sink: SseSink,
    private readonly limits: Pick<SseLimits, 'maxBufferedBytes' | 'stallMs'> = DEFAULT_SSE_LIMITS,
    private readonly timeout: (ms: number) => { promise: Promise<void>; cancel(): void } = defaultTimeout,
  ) {
    sink.once('close', () => (this.ended ??= 'closed'));
  }

  /** Why the connection ended, or null while it is open. */
  get end(): SseEnd | null {
    return this.ended ?? (this.sink.destroyed ? 'closed' : null);
  }

  /** Sends one frame; waits while the socket is full. */
  async send(frame: string): Promise<SseEnd | null> {
    if (this.end !== null) return this.end;
    const flushed = this.sink.write(frame);
    if (this.sink.writableLength > this.limits.maxBufferedBytes) return this.drop('overflow');
    if (flushed) return null;
    return this.waitForDrain();
  }

  private async waitForDrain(): Promise<SseEnd | null> {
    let onDrain: () => void = () => undefined;
    let onClose: () => void = () => undefined;
    const drained = new Promise<'drained' | 'closed'>((resolve) => {
      onDrain = () => resolve('drained');
      onClose = () => resolve('closed');
      this.sink.once('drain', onDrain);
      this.sink.once('close', onClose);
    });
    const timer = this.timeout(this.limits.stallMs);
    const outcome = await Promise.race([drained, timer.promise.then(() => 'stalled' as const)]);
    timer.cancel();
    this.sink.off('drain', onDrain);
    this.sink.off('close', onClose);
    if (outcome === 'drained') return null;
    if (outcome === 'closed') return (this.ended ??= 'closed');
    return this.drop('stalled');
  }

  private drop(why: SseEnd): SseEnd {
    this.ended ??= why;
    this.sink.destroy();
    return this.ended;
  }
}

function defaultTimeout(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
