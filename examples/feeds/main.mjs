// A feed reader. Started by the person (node main.mjs) it schedules its first background refresh and
// exits; the bgtasks daemon launches it again in the background when the refresh is due.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { BGTaskScheduler } from 'bgtasks';
import { startFeeds } from './app.mjs';

// A real app would ask for 15 minutes; the example uses seconds so the demo shows several refreshes.
const REFRESH_INTERVAL_MS = Number(process.env.FEEDS_REFRESH_INTERVAL_MS ?? 10_000);
const STATE = new URL('./data/feeds.json', import.meta.url);

async function refreshFeeds({ signal }) {
  await mkdir(new URL('./data/', import.meta.url), { recursive: true });
  const state = JSON.parse(await readFile(STATE, 'utf8').catch(() => '{"refreshes":0}'));
  // Stands in for downloading the feeds: it honours the signal, as a fetch() with { signal } would.
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 200);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
  state.refreshes += 1;
  state.lastRefresh = new Date().toISOString();
  await writeFile(STATE, JSON.stringify(state, null, 2));
  console.log(`refreshed feeds (${state.refreshes} so far)`);
}

await startFeeds(BGTaskScheduler.shared, { intervalMs: REFRESH_INTERVAL_MS, refresh: refreshFeeds, log: console.log });
