import type { AppExplanation } from '../../daemon/scheduler/explanations.js';
import type { RanOnceWarning } from '../../engine/ranOnce.js';
import { appArgs } from './args.js';
import { controlCommand } from './spec.js';

export type WhyAppResult = AppExplanation & {
  readonly pushes: { readonly waiting: number; readonly held: number };
  readonly ranOnce: readonly RanOnceWarning[];
};

/** `bgtasks why --app APP`: switches, budgets, throttle, force-quit, what holds its requests. */
export const whyApp = controlCommand<WhyAppResult>()('why.app', appArgs);
