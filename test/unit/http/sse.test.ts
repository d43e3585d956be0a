import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SseConnection, type SseSink, sseFrame } from '../../../src/http/sse.js';

/** A socket whose buffer the test controls: writes queue until `flush`. */
class FakeSocket extends EventEmitter implements SseSink {
  writableLength = 0;
  destroyed = false;
  written: string[] = [];
  constructor(private readonly highWater: number) {
    super();
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    return this.writableLength < this.highWater;
  }
  flush(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

/** A timeout the test fires by hand. */
function manualTimeout(): { timeout: (ms: number) => { promise: Promise<void>; cancel(): void }; fire(): void; asked: number[] } {
  const pending: Array<() => void> = [];
  const asked: number[] = [];
  return {
    asked,
    timeout: (ms) => {
      asked.push(ms);
      let fire: () => void = () => undefined;
      const promise = new Promise<void>((r) => (fire = r));
      pending.push(fire);
      return { promise, cancel: () => undefined };
    },
    fire: () => pending.shift()?.(),
  };
}

describe('server-sent event streams', () => {
  it('frames events as one data line of JSON with their id, newlines escaped', () => {
    expect(sseFrame({ type: 'x', line: 'a\nb' }, { id: '12-0' })).toBe('id: 12-0\ndata: {"type":"x","line":"a\\nb"}\n\n');
    expect(sseFrame({ a: 1 }, { event: 'open\nbad' })).toBe('event: openbad\ndata: {"a":1}\n\n');
  });

  it('waits for a full socket to drain before the next event', async () => {
    const socket = new FakeSocket(10);
    const t = manualTimeout();
    const conn = new SseConnection(socket, { maxBufferedBytes: 1000, stallMs: 5000 }, t.timeout);
    expect(await conn.send('short')).toBeNull();
    let done = false;
    const second = conn.send('this fills the buffer').then((r) => ((done = true), r));
    await Promise.resolve();
    expect(done).toBe(false);
    expect(t.asked).toEqual([5000]);
    socket.flush();
    expect(await second).toBeNull();
    expect(socket.destroyed).toBe(false);
  });

  it('drops a connection whose browser stopped reading (stalled), and sends nothing after', async () => {
    const socket = new FakeSocket(10);
    const t = manualTimeout();
    const conn = new SseConnection(socket, { maxBufferedBytes: 1000, stallMs: 5000 }, t.timeout);
    const pending = conn.send('this fills the buffer');
    await Promise.resolve();
    t.fire();
    expect(await pending).toBe('stalled');
    expect(socket.destroyed).toBe(true);
    const before = socket.written.length;
    expect(await conn.send('more')).toBe('stalled');
    expect(socket.written.length).toBe(before);
  });

  it('drops a connection at once when its buffer passes the byte limit', async () => {
    const socket = new FakeSocket(1_000_000);
    const conn = new SseConnection(socket, { maxBufferedBytes: 100, stallMs: 5000 }, manualTimeout().timeout);
    expect(await conn.send('x'.repeat(60))).toBeNull();
    expect(await conn.send('x'.repeat(60))).toBe('overflow');
    expect(socket.destroyed).toBe(true);
    expect(conn.end).toBe('overflow');
  });

  it('ends quietly when the browser goes away while the stream waits', async () => {
    const socket = new FakeSocket(10);
    const conn = new SseConnection(socket, { maxBufferedBytes: 1000, stallMs: 5000 }, manualTimeout().timeout);
    const pending = conn.send('this fills the buffer');
    await Promise.resolve();
    socket.emit('close');
    expect(await pending).toBe('closed');
  });
});
