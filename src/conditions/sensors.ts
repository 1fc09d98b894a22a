/**
 * The machine's sensors, one implementation per platform, behind one small interface so that
 * `DeviceConditions` (and its tests) never care which OS they run on.
 */
import type { Disposable } from '../engine/clock.js';
import type { Conditions } from '../engine/conditions.js';
import { createDarwinSensors, readNetworkFrom } from './darwinSensors.js';
import {
  IP_MONITOR,
  startLineMonitor,
  UDEV_POWER_MONITOR,
  type LineMonitorSpec,
  type SpawnMonitor,
} from './eventMonitors.js';
import { POWER_PROFILES_MATCH_RULES, readLinuxLowPowerMode } from './linuxLowPower.js';
import { readLinuxNetwork } from './linuxNetwork.js';
import { readLinuxPower } from './linuxPower.js';
import { readLinuxPressure, type PressureReading } from './linuxPressure.js';
import { LOGIND_MATCH_RULES, readUserActivity } from './linuxSession.js';
import { readLinuxThermal } from './linuxThermal.js';
import { NETWORK_MANAGER_MATCH_RULES, readNetworkCost } from './networkManager.js';
import { SystemBus, type BusClient, type PropertyReader } from './systemBus.js';

/** Reads the device's conditions once, and optionally tells when they may have changed. */
export interface Sensors {
  /**
   * Resolves the fields that could be read. A field that cannot be determined is left out (not set to
   * `'unknown'`), so the merged snapshot reports it with origin `'default'`. May reject; the caller keeps
   * its previous values then.
   */
  read(): Promise<Partial<Conditions>>;
  /**
   * Starts listening to the OS's change events (netlink, uevents, D-Bus signals) and calls `onChange`
   * whenever a condition may have changed, so the caller can re-read at once and poll slowly. Calls
   * `onError` once per event source that is unavailable; conditions from it are then only polled.
   * Disposing stops every listener (and kills any helper process). Sensors without events omit it.
   */
  watch?(onChange: () => void, onError?: (error: unknown) => void): Disposable;
}

/** Where the Linux sensors look; tests point them at fake trees. */
export interface SensorRoots {
  /** @default '/sys/class/power_supply' */
  readonly powerSupply?: string;
  /** procfs: `net/route`, `net/ipv6_route`, `pressure/*`. @default '/proc' */
  readonly proc?: string;
  /** @default '/sys/class/thermal' */
  readonly thermal?: string;
  /** @default '/sys/firmware/acpi/platform_profile' */
  readonly platformProfile?: string;
  /** logind's state directory (`seats/`, `sessions/`). @default '/run/systemd' */
  readonly runSystemd?: string;
  /**
   * The system D-Bus address, or null to use no D-Bus at all.
   * @default `DBUS_SYSTEM_BUS_ADDRESS`, else 'unix:path=/var/run/dbus/system_bus_socket'
   */
  readonly systemBus?: string | null;
}

/** Seams for tests of {@link createLinuxSensors}. */
export interface LinuxSensorsOptions {
  /** Replaces the system-bus connection (`roots.systemBus` is then ignored). */
  readonly bus?: BusClient;
  /** @default [IP_MONITOR, UDEV_POWER_MONITOR] */
  readonly monitors?: readonly LineMonitorSpec[];
  /** @default child_process.spawn */
  readonly spawn?: SpawnMonitor;
}

/** D-Bus signals worth a re-read: logind (idle, lock, seats, resume), NetworkManager, power profiles. */
export const LINUX_MATCH_RULES: readonly string[] = [
  ...LOGIND_MATCH_RULES,
  ...NETWORK_MANAGER_MATCH_RULES,
  ...POWER_PROFILES_MATCH_RULES,
];

/**
 * Sensors for the platform: sysfs, procfs, logind's state files and the system bus on Linux, `pmset`,
 * `ioreg` and the interface list on macOS, and elsewhere only the network from `os.networkInterfaces()`
 * (power is left out, so it reads as the default `'unknown'`, treated as external power).
 */
export function createSystemSensors(platform: NodeJS.Platform = process.platform, roots: SensorRoots = {}): Sensors {
  if (platform === 'linux') return createLinuxSensors(roots);
  if (platform === 'darwin') return createDarwinSensors();
  return createGenericSensors();
}

const noProperty: PropertyReader = async () => undefined;

/**
 * Linux. Each poll costs a few small sysfs/procfs reads and, where a system bus exists, a handful of
 * property reads over one kept-open socket: no process is spawned per poll. Events come from two
 * monitor processes (`ip monitor`, `udevadm monitor`) and D-Bus signals on that same socket.
 */
export function createLinuxSensors(roots: SensorRoots = {}, options: LinuxSensorsOptions = {}): Sensors {
  const bus: BusClient | undefined =
    options.bus ??
    (roots.systemBus === null
      ? undefined
      : new SystemBus(roots.systemBus === undefined ? {} : { address: roots.systemBus }));
  const getProperty = bus?.getProperty ?? noProperty;
  const monitors = options.monitors ?? [IP_MONITOR, UDEV_POWER_MONITOR];
  // The last load levels, for the readers' hysteresis.
  let lastPressure: PressureReading = {};
  let lastThermal: Conditions['thermalState'] | undefined;

  return {
    async read() {
      const reading: { -readonly [K in keyof Conditions]?: Conditions[K] } = {};
      const power = readLinuxPower(roots.powerSupply);
      // 'unknown' means no supplies were found: say nothing, rather than claim a sensor measured it.
      if (power.power !== 'unknown') {
        reading.power = power.power;
        reading.batteryLevel = power.batteryLevel;
      }
      const network = readLinuxNetwork(roots.proc);
      if (network !== 'unknown') reading.network = network;
      lastPressure = readLinuxPressure(roots.proc, lastPressure);
      Object.assign(reading, lastPressure);
      lastThermal = readLinuxThermal(roots.thermal, lastThermal);
      if (lastThermal !== undefined) reading.thermalState = lastThermal;

      const [lowPowerMode, networkCost, activity] = await Promise.all([
        readLinuxLowPowerMode(roots.platformProfile, getProperty),
        readNetworkCost(getProperty),
        readUserActivity(roots.runSystemd, getProperty),
      ]);
      if (lowPowerMode !== undefined) reading.lowPowerMode = lowPowerMode;
      if (networkCost !== undefined) reading.networkCost = networkCost;
      if (activity !== undefined) {
        reading.userActivity = activity.userActivity;
        reading.idleSince = activity.idleSince;
      }
      return reading;
    },

    watch(onChange, onError = () => {}) {
      const subscriptions: Disposable[] = monitors.map((spec) =>
        startLineMonitor(spec, onChange, onError, options.spawn),
      );
      if (bus) {
        subscriptions.push(
          bus.subscribe(
            LINUX_MATCH_RULES,
            () => onChange(),
            (cause) => {
              const reason = cause instanceof Error ? cause.message : String(cause);
              onError(
                new Error(
                  `system D-Bus unavailable (${reason}): logind idle, NetworkManager metered ` +
                    `and power-profiles-daemon are not read; retried each minute`,
                  { cause },
                ),
              );
            },
          ),
        );
      }
      return {
        dispose: () => {
          for (const subscription of subscriptions.splice(0)) subscription.dispose();
        },
      };
    },
  };
}

/** Any other platform (Windows, the BSDs): only the network, from the interface list. */
export function createGenericSensors(): Sensors {
  return {
    async read() {
      const network = readNetworkFrom();
      return network === 'unknown' ? {} : { network };
    },
  };
}
