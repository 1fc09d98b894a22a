/**
 * The machine's sensors, one implementation per platform, behind one small interface so that
 * `DeviceConditions` (and its tests) never care which OS they run on.
 */
import type { Conditions } from '../engine/conditions.js';
import { createDarwinSensors, readNetworkFrom } from './darwinSensors.js';
import { readLinuxNetwork } from './linuxNetwork.js';
import { readLinuxPower } from './linuxPower.js';

/** Reads the device's conditions once. */
export interface Sensors {
  /**
   * Resolves the fields that could be read. A field that cannot be determined is left out (not set to
   * `'unknown'`), so the merged snapshot reports it with origin `'default'`. May reject; the caller keeps
   * its previous values then.
   */
  read(): Promise<Partial<Conditions>>;
}

/** Where the Linux sensors look; tests point them at fake trees. */
export interface SensorRoots {
  /** @default '/sys/class/power_supply' */
  readonly powerSupply?: string;
  /** @default '/proc' */
  readonly proc?: string;
}

/**
 * Sensors for the platform: sysfs and procfs on Linux, `pmset` and the interface list on macOS, and
 * elsewhere only the network from `os.networkInterfaces()` (power is left out, so it reads as the
 * default `'unknown'`, treated as external power).
 */
export function createSystemSensors(platform: NodeJS.Platform = process.platform, roots: SensorRoots = {}): Sensors {
  if (platform === 'linux') return createLinuxSensors(roots);
  if (platform === 'darwin') return createDarwinSensors();
  return createGenericSensors();
}

/** Linux: the systemd power algorithm over sysfs and the default route in procfs. */
export function createLinuxSensors(roots: SensorRoots = {}): Sensors {
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
      return reading;
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
