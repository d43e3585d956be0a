/**
 * Scores texts by word count. Receives `{ texts: string[] }` (or `{ text: string }`), emits
 * `scored` with `{ scores, total }` and completes the job with the same summary.
 *
 * A TypeScript module agent is transpiled on its own, so it declares the types it uses instead of
 * importing them; only `node:` built-ins can be imported.
 */

interface Message {
  envelope: { type: string; from: string };
  body: unknown;
}

interface Context {
  readonly agent_id: string;
  emit(type: string, body?: unknown): void;
  event(type: string, payload?: Record<string, unknown>): void;
  completeJob(result?: unknown): void;
}

interface Summary {
  scores: number[];
  total: number;
}

function texts(body: unknown): string[] {
  if (typeof body === 'object' && body !== null) {
    const { texts, text } = body as { texts?: unknown; text?: unknown };
    if (Array.isArray(texts) && texts.every((t): t is string => typeof t === 'string')) return texts;
    if (typeof text === 'string') return [text];
  }
  throw new Error(`expected a body { texts: string[] } or { text: string }, got ${JSON.stringify(body)}`);
}

function words(text: string): number {
  return text.split(/\s+/).filter((word) => word !== '').length;
}

export function handle(message: Message, ctx: Context): void {
  const scores = texts(message.body).map(words);
  const summary: Summary = { scores, total: scores.reduce((sum, n) => sum + n, 0) };
  ctx.emit('scored', summary);
  ctx.completeJob(summary);
}
