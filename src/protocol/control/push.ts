import type { PushReceipt } from '../../daemon/scheduler/pushDelivery.js';
import { appIdSchema } from '../identifiers.js';
import { pushBodySchema } from '../push.js';
import { controlCommand } from './spec.js';

/** A push as stored: its id, its number in the app's line, and what it replaced. */
export type PushStored = PushReceipt & { readonly appId: string };

/** `bgtasks push APP --data JSON`: a background push, as POST /v1/apps/{appId}/push sends it. */
export const push = controlCommand<PushStored>()('push', pushBodySchema.extend({ appId: appIdSchema }));
