import { z } from 'zod';
import { appIdSchema } from '../identifiers.js';
import { controlCommand } from './spec.js';

/** `bgtasks apps token APP [--rotate]`: the push token issued at install; `rotate` replaces it. */
export const appsToken = controlCommand<{ readonly appId: string; readonly token: string; readonly rotated: boolean }>()(
  'apps.token',
  z.strictObject({ appId: appIdSchema, rotate: z.boolean().default(false) }),
);
