import { z } from 'zod';

/** What became of the app's pushes (`scheduler.getPushCounts()`), checked as the daemon sends it. */
export const pushCountsSchema = z.object({
  pending: z.number().int().nonnegative(),
  held: z.number().int().nonnegative(),
  delivered: z.number().int().nonnegative(),
  collapsed: z.number().int().nonnegative(),
  expired: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
export type PushCounts = z.infer<typeof pushCountsSchema>;
