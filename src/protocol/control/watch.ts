import { z } from 'zod';
import { controlCommand } from './spec.js';

/**
 * After `watch` the daemon streams `{"t":"event"}` frames for every committed change. The connection
 * answers it itself (src/daemon/ipcServer.ts), so it has no handler among the control commands.
 */
export const watch = controlCommand<{ readonly watching: true }>()('watch', z.object({}));
