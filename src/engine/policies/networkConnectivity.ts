import { allow, defer, type Policy } from '../policy.js';

/**
 * A request with `requiresNetworkConnectivity` (or `requiresUnmeteredNetwork`) waits while the device is
 * offline, and `requiresUnmeteredNetwork` also while the network is metered. Unknown counts as online
 * and unmetered: a sensor that cannot tell must not hold work back forever.
 */
export const networkConnectivityPolicy: Policy = {
  name: 'networkConnectivity',
  scope: 'request',
  discretionary: true,
  enforcedWhileRunning: true,
  evaluate({ request, conditions }) {
    const needsNetwork = request.requiresNetworkConnectivity || request.requiresUnmeteredNetwork;
    if (needsNetwork && conditions.network === 'offline') {
      return defer(this.name, {
        reason: 'requiresNetworkConnectivity',
        message: 'it requires network connectivity and the device is offline',
        waitsFor: 'conditions',
        unblockedBy: 'the device connects to a network',
      });
    }
    if (request.requiresUnmeteredNetwork && conditions.networkCost === 'metered') {
      return defer(this.name, {
        reason: 'requiresUnmeteredNetwork',
        message: 'it requires an unmetered network and the network is metered',
        waitsFor: 'conditions',
        unblockedBy: 'the device connects to an unmetered network',
      });
    }
    return allow(this.name);
  },
};
