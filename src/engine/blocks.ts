/**
 * Blocks of tasks (docs/architecture.md, "Blocks"). When an app's process is connected and many of its
 * requests are due at once, the daemon hands it a block under one lease instead of one task at a time:
 * the SDK runs the block at the app's concurrency, so the block's tasks beyond that concurrency wait in
 * the app, not in the daemon, and the next task starts without a round trip to the daemon or a commit.
 *
 * A block occupies at most the app's concurrency in slots, however many tasks it holds: the counts the
 * concurrency policies read take an app's leased tasks as `min(leased, maxConcurrentTasksPerApp)`.
 */

/** Tasks an app may hold in blocks at once, per slot of its concurrency. */
const TASKS_PER_SLOT = 16;
/** However small the app's concurrency, a block can hold this many (the lease's write is amortized). */
const MIN_BLOCK_TASKS = 64;
/** However large its concurrency: a frame stays small, and a crash puts back at most this many per app. */
const MAX_BLOCK_TASKS = 1_000;

/** How many tasks an app with this concurrency may hold in blocks at once. */
export function blockCapacity(perAppConcurrency: number): number {
  return Math.min(MAX_BLOCK_TASKS, Math.max(MIN_BLOCK_TASKS, TASKS_PER_SLOT * perAppConcurrency));
}

/** The slots an app's tasks occupy: each task outside a block one, its leased tasks at most its concurrency. */
export function occupiedSlots(plain: number, leased: number, perAppConcurrency: number): number {
  return plain + Math.min(leased, perAppConcurrency);
}
