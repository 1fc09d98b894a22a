import { allow, defer, type Policy } from '../policy.js';

/** A request never begins before its `earliestBeginDate` (a floor, never a promise). */
export const earliestBeginDatePolicy: Policy = {
  name: 'earliestBeginDate',
  scope: 'request',
  evaluate({ request, now }) {
    if (request.earliestBeginAt === null || request.earliestBeginAt <= now) return allow(this.name);
    return defer(
      this.name,
      'earliestBeginDate',
      `its earliestBeginDate is ${new Date(request.earliestBeginAt).toISOString()}`,
      'time',
      request.earliestBeginAt,
    );
  },
};
