import { allow, defer, isoTime, type Policy } from '../policy.js';

/**
 * A request never begins before its `earliestBeginDate` (a floor, never a promise). A periodic refresh
 * may begin up to its `tolerance` early when its app is running or being launched anyway, so the
 * machine wakes once for both.
 */
export const earliestBeginDatePolicy: Policy = {
  name: 'earliestBeginDate',
  scope: 'request',
  evaluate({ request, now, app }) {
    const at = request.earliestBeginAt;
    if (at === null || at <= now) return allow(this.name);
    const tolerance = request.recurrence?.toleranceMs ?? 0;
    if (tolerance > 0 && at - tolerance <= now && (app.connected || app.launching)) return allow(this.name);
    return defer(this.name, {
      reason: 'earliestBeginDate',
      message: `its earliestBeginDate is ${isoTime(at)}`,
      waitsFor: 'time',
      until: at,
      unblockedBy: `time reaches ${isoTime(at)}`,
    });
  },
};
