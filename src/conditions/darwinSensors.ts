/**
 * macOS sensors: power from `pmset -g batt`, network from the interface list. Nothing here could be run
 * on a Mac while writing it; the parser is tested against captured sample texts, and every failure
 * degrades to "not read" so a changed output format can never stop the daemon.
 */
import { execFile } from 'node:child_process';
import { networkInterfaces as osNetworkInterfaces, type NetworkInterfaceInfo } from 'node:os';

import type { Conditions, NetworkState, PowerSource } from '../engine/conditions.js';
import type { Sensors } from './sensors.js';

/** What {@link parsePmsetBatt} found. */
export interface PmsetBattReading {
  readonly power: PowerSource;
  /** Percent from the internal battery's line (else the first power source's), or null. */
  readonly batteryLevel: number | null;
}

/** The interface table as `os.networkInterfaces()` returns it. */
export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

/**
 * Parses `pmset -g batt`, for example:
 *
 * ```text
 * Now drawing from 'Battery Power'
 *  -InternalBattery-0 (id=4653155)	85%; discharging; 4:23 remaining present: true
 * ```
 *
 * `'AC Power'` gives `'ac'`, `'Battery Power'` gives `'battery'`, anything else (`'UPS Power'`, no such
 * line) gives `'unknown'`. A desktop Mac prints only the first line, so its level is null. The format has
 * no stability contract, hence the loose regexes and unknown words being ignored.
 */
export function parsePmsetBatt(text: string): PmsetBattReading {
  const source = /drawing from '([^']*)'/.exec(text)?.[1];
  const power: PowerSource = source === 'AC Power' ? 'ac' : source === 'Battery Power' ? 'battery' : 'unknown';

  // Power-source lines start with " -Name". Prefer the Mac's own battery over a UPS or accessory.
  const sourceLines = text.split('\n').filter((line) => /^\s*-\S/.test(line));
  const line = sourceLines.find((candidate) => /-InternalBattery-/.test(candidate)) ?? sourceLines[0];
  const percent = line === undefined ? undefined : /(?:^|[\s)])(\d{1,3})%/.exec(line)?.[1];
  const batteryLevel = percent === undefined ? null : Math.min(100, Number(percent));
  return { power, batteryLevel };
}

/**
 * `'online'` when any interface has an address that is neither internal (loopback) nor link-local,
 * `'offline'` when none has, `'unknown'` when the table is empty (the call told us nothing).
 *
 * Link-local addresses are skipped because macOS keeps `fe80::` addresses on `awdl0`, `llw0` and `utun*`
 * with no network at all; counting them would always read as online.
 */
export function readInterfacesNetwork(interfaces: InterfaceTable): NetworkState {
  const addresses = Object.values(interfaces).flatMap((list) => list ?? []);
  if (addresses.length === 0) return 'unknown';
  return addresses.some((info) => !info.internal && !isLinkLocal(info.address)) ? 'online' : 'offline';
}

function isLinkLocal(address: string): boolean {
  return address.startsWith('169.254.') || /^fe[89ab][0-9a-f]:/i.test(address);
}

/** {@link readInterfacesNetwork} on the live table; a throwing call (a sandbox denying it) reads as `'unknown'`. */
export function readNetworkFrom(getInterfaces: () => InterfaceTable = osNetworkInterfaces): NetworkState {
  try {
    return readInterfacesNetwork(getInterfaces());
  } catch {
    return 'unknown';
  }
}

/** How long `pmset` may take before it counts as failed. */
export const PMSET_TIMEOUT_MS = 2_000;

/**
 * Runs `/usr/bin/pmset -g batt` and resolves its stdout. The absolute path is used because launchd
 * agents start with a minimal PATH; the timeout keeps a hung helper from stalling the poll loop.
 */
export function runPmsetBatt(timeoutMs = PMSET_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/pmset', ['-g', 'batt'], { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 64 * 1024 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });
}

/** Seams for tests: the real ones run `pmset` and read `os.networkInterfaces()`. */
export interface DarwinSensorsOptions {
  readonly runPmset?: () => Promise<string>;
  readonly networkInterfaces?: () => InterfaceTable;
}

/**
 * Sensors for macOS. A field is left out of a reading when it could not be determined (pmset failed or
 * printed an unknown source, no interfaces), so the conditions fall back to their defaults.
 */
export function createDarwinSensors(options: DarwinSensorsOptions = {}): Sensors {
  const runPmset = options.runPmset ?? (() => runPmsetBatt());
  const getInterfaces = options.networkInterfaces ?? osNetworkInterfaces;
  return {
    async read() {
      const reading: { -readonly [K in keyof Conditions]?: Conditions[K] } = {};
      try {
        const batt = parsePmsetBatt(await runPmset());
        if (batt.power !== 'unknown') {
          reading.power = batt.power;
          reading.batteryLevel = batt.batteryLevel;
        }
      } catch {
        // pmset missing, timed out or failed: power stays at its default rather than failing the read.
      }
      const network = readNetworkFrom(getInterfaces);
      if (network !== 'unknown') reading.network = network;
      return reading;
    },
  };
}
