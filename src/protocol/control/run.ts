import { z } from 'zod';
import { appIdSchema, identifierSchema } from '../identifiers.js';
import { controlCommand } from './spec.js';

/** `bgtasks run APP IDENTIFIER`: start a task now, bypassing policy. */
export const run = controlCommand<{ readonly taskId: string }>()(
  'run',
  z.strictObject({
    appId: appIdSchema,
    identifier: identifierSchema,
    kind: z.enum(['refresh', 'processing']).optional(),
  }),
);
