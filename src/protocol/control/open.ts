import { appArgs } from './args.js';
import { controlCommand } from './spec.js';

/** `bgtasks open APP`: launch the app as the user would (launch reason `user`). */
export const open = controlCommand<{ readonly appId: string; readonly result: 'launched' | 'alreadyRunning' }>()(
  'open',
  appArgs,
);
