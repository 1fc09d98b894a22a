// A nightly clean-up: deletes cache files older than a day. It asks for a processing task that needs
// external power and a network (it would upload a report), first soon (for the demo), then every night.
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { BGTaskScheduler } from 'bgtasks';
import { startCleanup } from './app.mjs';

const CACHE = new URL('./data/cache/', import.meta.url);
const MAX_AGE_MS = 24 * 60 * 60_000;
// The first clean-up comes soon, so the demo shows it; then every night.
const FIRST_DELAY_MS = Number(process.env.CLEANUP_FIRST_DELAY_MS ?? 5_000);

async function clean({ stopped }) {
  await mkdir(CACHE, { recursive: true });
  let removed = 0;
  for (const name of await readdir(CACHE)) {
    if (stopped()) break;
    const file = new URL(name, CACHE);
    if (Date.now() - (await stat(file)).mtimeMs > MAX_AGE_MS) {
      await rm(file);
      removed++;
    }
  }
  await writeFile(new URL('../last-cleanup.json', CACHE), JSON.stringify({ at: new Date().toISOString(), removed }));
  return removed;
}

await startCleanup(BGTaskScheduler.shared, { firstDelayMs: FIRST_DELAY_MS, clean, log: console.log });
