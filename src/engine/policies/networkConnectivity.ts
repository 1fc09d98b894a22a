import { allow, defer, type Policy } from '../policy.js';

/** A request with `requiresNetworkConnectivity` waits while the device is offline. Unknown counts as online. */
export const networkConnectivityPolicy: Policy = {
  name: 'networkConnectivity',
  scope: 'request',
  evaluate({ request, conditions }) {
    if (!request.requiresNetworkConnectivity || conditions.network !== 'offline') return allow(this.name);
    return defer(this.name, 'requiresNetworkConnectivity', 'it requires network connectivity and the device is offline', 'conditions');
  },
};
