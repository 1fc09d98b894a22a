/**
 * How a node takes part in a fleet; defaults in one place. Every value is in milliseconds of the
 * daemon's clock. Nodes compare lease times written by each other, so their wall clocks must agree to
 * well within `leaseMs - heartbeatMs` (NTP does far better).
 */
export interface FleetOptions {
  /** How often the node renews its lease, reports its conditions and looks at the pool. @default 1000 */
  readonly heartbeatMs: number;
  /**
   * How long a node's claims and runs survive without a heartbeat. After that, another node takes over:
   * its pool requests go back to the pool and its `'any'` runs are finished as `interrupted` and run
   * again elsewhere. Longer tolerates longer stalls; shorter recovers sooner. With the defaults a killed
   * node's work starts elsewhere within leaseMs + maintenanceMs + a claim (about 7 s; docs/fleet.md). @default 6000
   */
  readonly leaseMs: number;
  /** How often a node tries to take the maintenance lock (expire leases, prune history). @default 1000 */
  readonly maintenanceMs: number;
  /** Finished runs and events older than this are pruned from the shared store. @default 30 days */
  readonly retentionMs: number;
}

export const DEFAULT_FLEET_OPTIONS: FleetOptions = {
  heartbeatMs: 1_000,
  leaseMs: 6_000,
  maintenanceMs: 1_000,
  retentionMs: 30 * 24 * 60 * 60_000,
};

/** Fills in defaults and checks the values, naming the option at fault. @throws TypeError */
export function compileFleetOptions(given: Partial<FleetOptions> = {}): FleetOptions {
  const options: FleetOptions = {
    ...DEFAULT_FLEET_OPTIONS,
    ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)),
  };
  for (const [name, value] of Object.entries(options)) {
    if (!(name in DEFAULT_FLEET_OPTIONS))
      throw new TypeError(
        `Unknown fleet option \`${name}\`; the options are ` + `${Object.keys(DEFAULT_FLEET_OPTIONS).join(', ')}`,
      );
    if (!Number.isInteger(value) || value < 1)
      throw new TypeError(
        `Expected \`fleet.${name}\` to be an integer >= 1 (ms), got ` + `\`${String(value)}\` (${typeof value})`,
      );
  }
  if (options.leaseMs < 3 * options.heartbeatMs) {
    throw new TypeError(
      `Expected \`fleet.leaseMs\` (${options.leaseMs}) to be at least 3 × ` +
        `\`fleet.heartbeatMs\` (${options.heartbeatMs}), so one late heartbeat does ` +
        `not lose the lease`,
    );
  }
  return options;
}
