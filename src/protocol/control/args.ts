/** Argument pieces several control commands share. */
import { z } from 'zod';
import { appIdSchema, identifierSchema } from '../identifiers.js';

/** How many rows a listing returns, newest first: 1 to 10,000, 50 unless given. */
export const limitSchema = z.number().int().min(1).max(10_000).default(50);
export const notificationIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a notification id');
export const noArgs = z.strictObject({});
export const appArgs = z.strictObject({ appId: appIdSchema });
export const appIdentifierArgs = z.strictObject({ appId: appIdSchema, identifier: identifierSchema });
