import type { AppUsageSummary } from '../../engine/appUsage.js';
import type { RanOnceWarning } from '../../engine/ranOnce.js';
import { noArgs } from './args.js';
import type { PublicApp } from './install.js';
import { controlCommand } from './spec.js';

/** An installed app with its budgets, processes and work. */
export type AppListing = PublicApp & {
  readonly usage: AppUsageSummary | undefined;
  readonly running: boolean;
  readonly processes: readonly { readonly pid: number; readonly launchReason: string }[];
  readonly pending: number;
  readonly activeTasks: number;
  readonly ranOnce: readonly RanOnceWarning[];
};

/** `bgtasks apps`: the installed apps, by app id. */
export const apps = controlCommand<readonly AppListing[]>()('apps', noArgs);
