import { z } from 'zod';
import type { HistoryEvent, TaskRun } from '../../engine/types.js';
import { appIdSchema, identifierSchema } from '../identifiers.js';
import { limitSchema } from './args.js';
import { controlCommand } from './spec.js';

/** `bgtasks history`: runs, newest first; with `events`, the event log instead. */
export const history = controlCommand<readonly TaskRun[] | readonly HistoryEvent[]>()(
  'history',
  z.strictObject({
    appId: appIdSchema.optional(),
    identifier: identifierSchema.optional(),
    limit: limitSchema,
    events: z.boolean().default(false),
  }),
);
