import type { Explanation } from '../../engine/explain.js';
import { appIdentifierArgs } from './args.js';
import { controlCommand } from './spec.js';
import type { StoreFault } from './status.js';

/** The explanation, and the store's fault: while the store cannot be written no task starts. */
export type WhyResult = Explanation & { readonly storeFault: StoreFault | null };

/** `bgtasks why APP IDENTIFIER`: every policy's verdict, the earliest start, the decision history. */
export const why = controlCommand<WhyResult>()('why', appIdentifierArgs);
