import { appArgs } from './args.js';
import { controlCommand } from './spec.js';

/** `bgtasks quit APP`: force-quit as the user would; `stopped` counts its processes. */
export const quit = controlCommand<{ readonly appId: string; readonly stopped: number }>()('quit', appArgs);
