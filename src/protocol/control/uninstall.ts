import { appArgs } from './args.js';
import { controlCommand } from './spec.js';

/** `bgtasks uninstall APP`: the app, its pending requests and its credential go; its history stays. */
export const uninstall = controlCommand<{ readonly appId: string; readonly uninstalled: true }>()('uninstall', appArgs);
