import { z } from 'zod';
import type { Conditions, ConditionsSnapshot } from '../../engine/conditions.js';
import { noArgs } from './args.js';
import { controlCommand } from './spec.js';

/** The conditions now, where each value came from, and the overrides in force. */
export type ConditionsResult = ConditionsSnapshot & { readonly overrides: Partial<Conditions> };

/** `bgtasks conditions`. */
export const conditions = controlCommand<ConditionsResult>()('conditions', noArgs);
/** `bgtasks conditions set power=battery ...`: overrides until `conditions reset` (they survive a restart). */
export const conditionsSet = controlCommand<ConditionsResult>()(
  'conditions.set',
  z.strictObject({
    assignments: z.array(z.string().max(100)).min(1, 'name at least one condition, e.g. power=battery').max(20),
  }),
);
/** `bgtasks conditions reset`: back to the real sensors. */
export const conditionsReset = controlCommand<ConditionsResult>()('conditions.reset', noArgs);
