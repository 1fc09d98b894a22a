import { allow, isBlocker, type Blocker, type Policy, type PolicyContext, type Verdict } from './policy.js';
import { isUrgentPush } from './push.js';

/** A policy's verdict, with a priority-10 push exempt from the discretionary ones. */
function verdictOf(policy: Policy, context: PolicyContext): Verdict {
  if (policy.discretionary && isUrgentPush(context.request)) return allow(policy.name);
  return policy.evaluate(context);
}

export interface Evaluation {
  /** True when every policy allows the request to start now. */
  readonly eligible: boolean;
  /** The first blocker, which decides; null when eligible. */
  readonly blocking: Blocker | null;
}

/** Asks the policies in order and stops at the first blocker: the fast path used when scheduling. */
export function evaluate(policies: readonly Policy[], context: PolicyContext): Evaluation {
  for (const policy of policies) {
    const verdict = verdictOf(policy, context);
    if (isBlocker(verdict)) return { eligible: false, blocking: verdict };
  }
  return { eligible: true, blocking: null };
}

/** Asks every policy, for an explanation: a person should see every factor that holds the request back. */
export function evaluateAll(policies: readonly Policy[], context: PolicyContext): Verdict[] {
  return policies.map((policy) => verdictOf(policy, context));
}

/** The first blocker among the policies that are enforced on running tasks, or null. */
export function evaluateWhileRunning(policies: readonly Policy[], context: PolicyContext): Blocker | null {
  for (const policy of policies) {
    if (!policy.enforcedWhileRunning) continue;
    const verdict = policy.evaluate(context);
    // Only a change of conditions ends a running task; a time-based verdict (idle for 4 of 5 minutes) does not.
    if (isBlocker(verdict) && verdict.waitsFor === 'conditions') return verdict;
  }
  return null;
}
