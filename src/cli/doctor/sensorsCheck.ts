import { existsSync } from 'node:fs';
import { DEFAULT_CONDITIONS, type ConditionName, type ConditionOrigin } from '../../engine/conditions.js';
import { systemBusAddress } from '../../conditions/dbusConnection.js';
import { createLinuxSensors, createSystemSensors, type Sensors } from '../../conditions/sensors.js';
import { SystemBus } from '../../conditions/systemBus.js';
import { ok, warn, withTimeout, type Check } from './checks.js';
import type { DaemonConditions } from './daemonCheck.js';

/**
 * Which of the device's conditions are real on this machine and which are unknown, and what an unknown
 * one means for scheduling (the policies in src/engine/policies treat each `unknown` as the permissive
 * value, so a task is never held by a signal that cannot come; docs/scheduling.md, "Sensors").
 */
interface ConditionLine {
  /** The condition this line is about; `also` are shown with it (battery with power, idle time with activity). */
  readonly name: ConditionName;
  readonly also?: readonly ConditionName[];
  /** What `unknown` means to the scheduler. */
  readonly meaning: string;
  /** How to make it real, on Linux (where the bus matters, `bus` says how the system bus looks). */
  readonly linux: (bus: string) => string;
}

const LINES: readonly ConditionLine[] = [
  {
    name: 'power',
    also: ['batteryLevel'],
    meaning: 'treated as external power: requiresExternalPower tasks run, and the battery policies never hold tasks',
    linux: () =>
      'no AC adapter or battery in /sys/class/power_supply: normal on a desktop, ' +
      'server, VM or container (nothing to fix there); on a laptop, check that /sys ' +
      'is mounted',
  },
  {
    name: 'lowPowerMode',
    meaning: 'treated as off: Low Power Mode never holds tasks',
    linux: (bus) =>
      `neither /sys/firmware/acpi/platform_profile nor power-profiles-daemon ` +
      `answered (${bus}): where the hardware has power profiles, systemctl enable ` +
      `--now power-profiles-daemon`,
  },
  {
    name: 'network',
    meaning: 'treated as online: requiresNetworkConnectivity tasks run even when the machine is offline',
    linux: () => '/proc/net/route and /proc/net/ipv6_route could not be read: mount /proc',
  },
  {
    name: 'networkCost',
    meaning: 'treated as unmetered: requiresUnmeteredNetwork tasks run on any network, metered ones too',
    linux: (bus) =>
      `NetworkManager's Metered property could not be read (${bus}): systemctl ` +
      `enable --now NetworkManager, or accept that every network counts as ` +
      `unmetered`,
  },
  {
    name: 'userActivity',
    also: ['idleSince'],
    meaning: 'treated as idle: processing tasks do not wait for the user to leave, nor stop when the user comes back',
    linux: (bus) =>
      `no logind seats in /run/systemd and no answer from org.freedesktop.login1 ` +
      `(${bus}): run on a system with systemd-logind`,
  },
  {
    name: 'thermalState',
    meaning: 'treated as nominal: heat never holds tasks',
    linux: () => 'no thermal zones in /sys/class/thermal: normal in VMs and containers (nothing to fix there)',
  },
  ...(['cpuPressure', 'memoryPressure', 'ioPressure'] as const).map((name) => ({
    name,
    meaning:
      `treated as nominal: ${name.replace('Pressure', '').replace('io', 'IO').replace('cpu', 'CPU')} ` +
      `pressure never holds tasks`,
    linux: () =>
      `/proc/pressure/${name.replace('Pressure', '')} (PSI) is missing: use a ` +
      `kernel with CONFIG_PSI=y, or boot with psi=1`,
  })),
];

export interface SensorsCheckOptions {
  /** The running daemon's conditions (with its overrides); without one, the sensors are read here, once. */
  readonly daemon: DaemonConditions | null;
  /** Without a daemon: the overrides kept in the store, which the daemon applies at its next start. */
  readonly storedOverrides?: Readonly<Record<string, unknown>>;
  /** The sensors to read when no daemon runs. @default this machine's (createSystemSensors) */
  readonly sensors?: Sensors;
  readonly timeoutMs: number;
  /** @default process.platform */
  readonly platform?: NodeJS.Platform;
  /** @default process.env (for the system bus address) */
  readonly env?: NodeJS.ProcessEnv;
}

interface Reading {
  readonly values: Readonly<Record<string, unknown>>;
  readonly origins: Readonly<Record<string, ConditionOrigin>>;
  readonly source: string;
  /** From the running daemon (its overrides are in force), not read here. */
  readonly live: boolean;
}

export async function checkSensors(options: SensorsCheckOptions): Promise<{ checks: Check[] }> {
  const platform = options.platform ?? process.platform;
  const reading = options.daemon ? fromDaemon(options.daemon) : await readHere(options, platform);
  const bus = describeBus(options.env ?? process.env);
  const checks = LINES.map((line) => judge(line, reading, platform, bus));
  return { checks };
}

function fromDaemon(daemon: DaemonConditions): Reading {
  return { values: daemon.conditions, origins: daemon.origins, source: 'as the daemon sees it', live: true };
}

/** One read of the real sensors, with a system-bus connection of our own that is closed afterwards. */
async function readHere(options: SensorsCheckOptions, platform: NodeJS.Platform): Promise<Reading> {
  let bus: SystemBus | null = null;
  let sensors = options.sensors;
  if (!sensors) {
    if (platform === 'linux') {
      bus = new SystemBus();
      sensors = createLinuxSensors({}, { bus });
    } else {
      sensors = createSystemSensors(platform);
    }
  }
  try {
    const read = await withTimeout(
      sensors.read(),
      options.timeoutMs,
      `the sensors did not answer within ${options.timeoutMs} ms`,
    );
    const stored = options.storedOverrides ?? {};
    const overridden = (name: string): boolean => Object.hasOwn(stored, name) && name in DEFAULT_CONDITIONS;
    const values: Record<string, unknown> = { ...DEFAULT_CONDITIONS, ...read };
    for (const name of Object.keys(DEFAULT_CONDITIONS)) if (overridden(name)) values[name] = stored[name];
    const origins = Object.fromEntries(
      Object.keys(DEFAULT_CONDITIONS).map((name) => [
        name,
        overridden(name) ? 'override' : name in read ? 'sensor' : 'default',
      ]),
    ) as Record<string, ConditionOrigin>;
    return { values, origins, source: 'read here: no daemon runs', live: false };
  } finally {
    bus?.dispose();
  }
}

function describeBus(env: NodeJS.ProcessEnv): string {
  const address = systemBusAddress(env);
  const path = /^unix:path=([^,;]+)/.exec(address)?.[1];
  if (path && !existsSync(path)) return `there is no system bus: ${path} does not exist`;
  return `the system bus is ${address}`;
}

function show(line: ConditionLine, values: Reading['values']): string {
  const shown = [line.name, ...(line.also ?? [])]
    .filter((name) => name === line.name || (values[name] !== null && values[name] !== undefined))
    .map((name) => `${name}=${String(values[name])}`);
  return shown.join(' ');
}

function judge(line: ConditionLine, reading: Reading, platform: NodeJS.Platform, bus: string): Check {
  const id = `sensors.${line.name}`;
  const origin = reading.origins[line.name] ?? 'default';
  const value = show(line, reading.values);
  if (origin === 'override') {
    const when = reading.live
      ? 'so the daemon ignores its sensor'
      : 'kept in the store: the daemon will use it instead of its sensor when it ' + 'starts';
    return warn(
      id,
      'sensors',
      `${value}: overridden (bgtasks conditions set), ${when}`,
      reading.live
        ? 'conditions overridden: bgtasks conditions reset'
        : 'conditions overridden: bgtasks conditions reset (once the daemon runs)',
    );
  }
  if (origin === 'sensor') return ok(id, 'sensors', `${value} (from a sensor, ${reading.source})`);
  const how =
    platform === 'linux'
      ? line.linux(bus)
      : `this platform's sensors cannot read it (see docs/scheduling.md, "Sensors")`;
  return warn(id, 'sensors', `${line.name} is unknown (${reading.source}): ${line.meaning}`, how);
}
