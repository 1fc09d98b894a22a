// `node main.mjs` counts to 100, a number every 100 ms, as a continued processing task.
import { setTimeout as delay } from 'node:timers/promises';
import { BGTaskScheduler } from 'bgtasks';
import { startCount } from './app.mjs';

await startCount(BGTaskScheduler.shared, {
  run: `run-${Date.now()}`,
  step: (signal) => delay(100, undefined, { signal }).catch(() => {}),
  log: console.log,
});
