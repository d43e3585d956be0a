/**
 * A min-heap of items by due time: the monitor takes what is due without looking at what is not
 * (1,000 instances with checks every second cost O(log n) per check, not a scan per tick).
 */
export class DueQueue<T> {
  private readonly heap: Array<{ at: number; item: T }> = [];

  get size(): number {
    return this.heap.length;
  }

  /** The earliest due time, or null when empty. */
  peek(): number | null {
    return this.heap[0]?.at ?? null;
  }

  push(at: number, item: T): void {
    const h = this.heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= h[i]!.at) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  /** Removes and returns the earliest item if it is due at `now`, else null. */
  popDue(now: number): T | null {
    const h = this.heap;
    const top = h[0];
    if (!top || top.at > now) return null;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top.item;
  }
}
