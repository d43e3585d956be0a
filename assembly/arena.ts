/**
 * A grow-only bump arena over linear memory. The host allocates the node columns once per snapshot
 * and a per-call region after them; nothing is freed individually. `reset` drops everything,
 * `release(mark)` drops what was allocated after `mark`.
 *
 * No managed objects are created anywhere in the module, so the arena owns the heap from
 * `__heap_base` on.
 */

const ALIGN: usize = 16;

let top: usize = (__heap_base + ALIGN - 1) & ~(ALIGN - 1);

/** Allocates `bytes` (16-byte aligned), growing memory as needed. Returns 0 when memory is exhausted. */
export function arenaAlloc(bytes: usize): usize {
  const ptr = top;
  const end = (ptr + bytes + ALIGN - 1) & ~(ALIGN - 1);
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  top = end;
  return ptr;
}

export function arenaReset(): void {
  top = (__heap_base + ALIGN - 1) & ~(ALIGN - 1);
}

export function arenaTop(): usize {
  return top;
}

export function arenaRelease(mark: usize): void {
  top = mark;
}
