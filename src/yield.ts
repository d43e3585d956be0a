/**
 * Gives the event loop a turn: timers, I/O and other calls run before the caller continues.
 * Awaiting a resolved promise does not do that (microtasks run first); long loops over a big
 * job's agents call this between chunks so no single turn holds the loop for long.
 */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Items handled per turn by the chunked loops over a job's agents. */
export const LOOP_CHUNK = 5000;
