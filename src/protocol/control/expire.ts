import { appIdentifierArgs } from './args.js';
import { controlCommand } from './spec.js';

/** `bgtasks expire APP IDENTIFIER`: expire its running tasks now; `expired` counts them. */
export const expire = controlCommand<{ readonly expired: number }>()('expire', appIdentifierArgs);
