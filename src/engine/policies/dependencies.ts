import { decideDependencies, describePrerequisites } from '../dependencies.js';
import { allow, defer, deny, type Policy } from '../policy.js';

/**
 * A request with `dependsOn` waits until each prerequisite has succeeded (src/engine/dependencies.ts).
 * One that failed for good holds it for good: the scheduler then cancels it (reason
 * `prerequisiteFailed`), and its own dependents with it.
 */
export const dependenciesPolicy: Policy = {
  name: 'dependencies',
  scope: 'request',
  evaluate({ request, prerequisites }) {
    if (!request.dependsOn || !prerequisites) return allow(this.name);
    const { decision, prerequisites: which } = decideDependencies(prerequisites(request));
    if (decision === 'ready') return allow(this.name);
    if (decision === 'cancel') {
      return deny(this.name, {
        reason: 'prerequisiteFailed',
        message: `a prerequisite did not succeed: ${describePrerequisites(which)}`,
        unblockedBy: 'nothing: the request is cancelled',
      });
    }
    return defer(this.name, {
      reason: 'waitingForPrerequisites',
      message: `waits for ${describePrerequisites(which)}`,
      waitsFor: 'capacity',
      unblockedBy: 'its prerequisites succeed',
    });
  },
};
