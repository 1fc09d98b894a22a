import { z } from 'zod';

/** The most `data` a push carries, as JSON text in UTF-8: APNs' limit. */
export const MAX_PUSH_DATA_BYTES = 4096;

/** The deepest `data` taken: arrays and objects in arrays and objects, this many levels. */
export const MAX_PUSH_DATA_DEPTH = 128;

/** Whether arrays and objects nest at most `max` levels; without recursion, so any depth is safe to ask about. */
function nestingWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= max) return false;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return true;
}

/**
 * A push as a sender sends it (the body of `POST /v1/apps/{appId}/push`, and `bgtasks push`):
 *
 * | field        | what                                                                               |
 * |--------------|------------------------------------------------------------------------------------|
 * | `data`       | any JSON, at most 4 KB; the app's handler gets it as `push.data`                    |
 * | `priority`   | `10` (default): now, unless the user force-quit the app; `5`: when convenient, within the app's
 * budget |
 * | `collapseId` | optional; a newer push with the same id replaces one not yet delivered (the app is told how many) |
 * | `expiration` | optional, seconds since the epoch (APNs' `apns-expiration`): not delivered after it; `0` means now
 * or never |
 */
export const pushBodySchema = z.strictObject({
  // Depth first: z.json() recurses, and a 16 KiB body nests 8,000 levels, past the stack (a RangeError, not an issue).
  data: z
    .unknown()
    .refine((value) => nestingWithin(value, MAX_PUSH_DATA_DEPTH), {
      message: `must nest at most ${MAX_PUSH_DATA_DEPTH} levels`,
      abort: true,
    })
    .pipe(
      z.json({
        error: (issue) => (issue.input === undefined ? 'is required: the JSON to hand the app' : 'must be JSON'),
      }),
    ),
  priority: z.union([z.literal(5), z.literal(10)], { error: 'must be 10 (now) or 5 (when convenient)' }).default(10),
  collapseId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  expiration: z.int().nonnegative().max(8.64e12, 'must be seconds since the epoch').optional(),
});
export type PushBody = z.infer<typeof pushBodySchema>;

/** The size of `data` as sent on to the app (JSON text in UTF-8). */
export function pushDataBytes(data: unknown): number {
  return Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');
}

/** Wall-clock ms after which the push is not delivered, or null: `expiration` is in seconds; 0 is "now or never". */
export function pushExpiresAt(body: PushBody, now: number): number | null {
  if (body.expiration === undefined) return null;
  return body.expiration === 0 ? now : body.expiration * 1000;
}
