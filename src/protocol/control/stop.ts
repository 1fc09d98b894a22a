import { noArgs } from './args.js';
import { controlCommand } from './spec.js';

/** `bgtasks stop`: the reply goes out first, then the daemon stops as on SIGTERM. */
export const stop = controlCommand<{ readonly stopping: true; readonly pid: number }>()('stop', noArgs);
