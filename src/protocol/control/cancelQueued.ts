import { appIdentifierArgs } from './args.js';
import { controlCommand } from './spec.js';

/** The person takes a continued request out of the line (it has no task yet). */
export const cancelQueued = controlCommand<{
  readonly appId: string;
  readonly identifier: string;
  readonly result: 'removed';
}>()('cancelQueued', appIdentifierArgs);
