// A nightly clean-up: deletes cache files older than a day. It asks for a processing task that needs
// external power and a network (it would upload a report), first soon (for the demo), then every night.
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { BGTaskScheduler, BGProcessingTaskRequest } from 'bgtasks';

const CACHE = new URL('./data/cache/', import.meta.url);
const MAX_AGE_MS = 24 * 60 * 60_000;
// The first clean-up comes soon, so the demo shows it; then every night.
const FIRST_DELAY_MS = Number(process.env.CLEANUP_FIRST_DELAY_MS ?? 5_000);
const scheduler = BGTaskScheduler.shared;

function nextNightAt3() {
  const next = new Date();
  next.setHours(3, 0, 0, 0);
  if (next.getTime() <= Date.now()) next.setDate(next.getDate() + 1);
  return next;
}

async function scheduleCleanup(when) {
  const request = new BGProcessingTaskRequest('com.example.cleanup.nightly');
  request.requiresExternalPower = true;
  request.requiresNetworkConnectivity = true;
  request.earliestBeginDate = when;
  await scheduler.submit(request);
}

// The Apple callback style: the handler starts the work and calls setTaskCompleted when it is done.
scheduler.register('com.example.cleanup.nightly', (task) => {
  let stopped = false;
  task.expirationHandler = () => { stopped = true; };
  scheduleCleanup(nextNightAt3())
    .then(async () => {
      await mkdir(CACHE, { recursive: true });
      let removed = 0;
      for (const name of await readdir(CACHE)) {
        if (stopped) break;
        const file = new URL(name, CACHE);
        if (Date.now() - (await stat(file)).mtimeMs > MAX_AGE_MS) { await rm(file); removed++; }
      }
      await writeFile(new URL('../last-cleanup.json', CACHE), JSON.stringify({ at: new Date().toISOString(), removed }));
      console.log(`clean-up removed ${removed} old files`);
      task.setTaskCompleted(!stopped);
    })
    .catch((error) => { console.error(error); task.setTaskCompleted(false); });
});

if (scheduler.launchReason === 'user') {
  await scheduleCleanup(new Date(Date.now() + FIRST_DELAY_MS));
  console.log(`clean-up requested: in ${FIRST_DELAY_MS / 1000} s when on external power and online, then every night at 03:00`);
}
