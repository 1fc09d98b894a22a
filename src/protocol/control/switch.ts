import { z } from 'zod';
import { appIdSchema } from '../identifiers.js';
import type { PublicApp } from './install.js';
import { controlCommand } from './spec.js';

/** `bgtasks apps enable APP` or `bgtasks apps enable --all` (the global switch). */
const switchArgs = z
  .strictObject({ appId: appIdSchema.optional(), all: z.boolean().default(false) })
  .refine((args) => (args.appId === undefined) === args.all, {
    message: 'name an app, or pass all (not both)',
    path: ['appId'],
  });

/** The app as switched, or the global switch's new state. */
export type SwitchResult = PublicApp | { readonly backgroundAppRefresh: boolean };

/** Background App Refresh on, for one app or (`all`) globally. */
export const enable = controlCommand<SwitchResult>()('enable', switchArgs);
/** Background App Refresh off, for one app or (`all`) globally. */
export const disable = controlCommand<SwitchResult>()('disable', switchArgs);
