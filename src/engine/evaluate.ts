import type { DeferVerdict, Policy, PolicyContext, Verdict } from './policy.js';

export interface Evaluation {
  /** True when every policy allows the request to start now. */
  readonly eligible: boolean;
  /** The first deferral, which decides; null when eligible. */
  readonly blocking: DeferVerdict | null;
}

/** Asks the policies in order and stops at the first deferral: the fast path used when scheduling. */
export function evaluate(policies: readonly Policy[], context: PolicyContext): Evaluation {
  for (const policy of policies) {
    const verdict = policy.evaluate(context);
    if (verdict.outcome === 'defer') return { eligible: false, blocking: verdict };
  }
  return { eligible: true, blocking: null };
}

/** Asks every policy, for an explanation: a person should see every factor that holds the request back. */
export function evaluateAll(policies: readonly Policy[], context: PolicyContext): Verdict[] {
  return policies.map((policy) => policy.evaluate(context));
}
