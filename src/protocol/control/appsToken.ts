import { z } from 'zod';
import { appIdSchema } from '../identifiers.js';
import { controlCommand } from './spec.js';

export interface PushToken {
  readonly appId: string;
  readonly token: string;
  readonly rotated: boolean;
}

/** `bgtasks apps token APP [--rotate]`: the push token issued at install; `rotate` replaces it. */
export const appsToken = controlCommand<PushToken>()(
  'apps.token',
  z.strictObject({ appId: appIdSchema, rotate: z.boolean().default(false) }),
);
