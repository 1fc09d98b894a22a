import type { SystemSnapshot } from '../../daemon/snapshot.js';
import { noArgs } from './args.js';
import { controlCommand } from './spec.js';

/** The whole picture `bgtasks top` and the dashboard draw. */
export const snapshot = controlCommand<SystemSnapshot>()('snapshot', noArgs);
