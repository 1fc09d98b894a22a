import { BGTaskScheduler } from 'bgtasks';
import { startNightly } from './app.mjs';

await startNightly(BGTaskScheduler.shared, {
  backup: async () => console.log('backing up at', new Date().toString()),
});
