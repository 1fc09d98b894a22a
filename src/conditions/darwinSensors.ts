/**
 * macOS sensors: power from `pmset -g batt`, Low Power Mode from `pmset -g`, the thermal state from
 * `pmset -g therm`, user idle time from `ioreg` (HIDIdleTime), network from the interface list. Nothing
 * here could be run on a Mac while writing it; the parsers are tested against sample texts in the shapes
 * public code shows, and every failure degrades to "not read" so a changed output format can never stop
 * the daemon. macOS offers none of these as events to a plain process, so each poll runs the four
 * commands once (in parallel) and nothing runs between polls.
 */
import { execFile } from 'node:child_process';
import { networkInterfaces as osNetworkInterfaces, type NetworkInterfaceInfo } from 'node:os';

import type { Conditions, LoadLevel, NetworkState, PowerSource, UserActivity } from '../engine/conditions.js';
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

/** How long a helper (`pmset`, `ioreg`) may take before it counts as failed. */
export const PMSET_TIMEOUT_MS = 2_000;

/**
 * Runs a helper by absolute path and resolves its stdout. Absolute paths because launchd agents start
 * with a minimal PATH; the timeout keeps a hung helper from stalling the poll loop.
 */
export function runCommand(file: string, args: readonly string[], timeoutMs = PMSET_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 256 * 1024 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });
}

/** Runs `/usr/bin/pmset -g batt` and resolves its stdout. */
export function runPmsetBatt(timeoutMs = PMSET_TIMEOUT_MS): Promise<string> {
  return runCommand('/usr/bin/pmset', ['-g', 'batt'], timeoutMs);
}

/**
 * Parses `pmset -g` (the settings in use) for Low Power Mode: a line `lowpowermode 1` (macOS 12+).
 * Some Macs with a High Power mode show `powermode` instead, where 1 is reported to mean low power
 * (unverified). Null when neither line is there (older macOS, a desktop without the setting).
 */
export function parsePmsetLowPowerMode(text: string): boolean | null {
  const lowPower = /^\s*lowpowermode\s+(\d+)/m.exec(text);
  if (lowPower) return lowPower[1] !== '0';
  const powerMode = /^\s*powermode\s+(\d+)/m.exec(text);
  return powerMode ? powerMode[1] === '1' : null;
}

/**
 * Parses `pmset -g therm` on Intel Macs: `CPU_Speed_Limit = 100` and `CPU_Scheduler_Limit = 100` are the
 * percentages of CPU speed and scheduling the thermal manager currently allows. Their product is the
 * share of the CPU left: 100 % is `nominal`, from 80 % `fair`, from 50 % `serious`, below `critical`.
 * Apple silicon prints only "No thermal warning level has been recorded" notes: null (left out).
 */
export function parsePmsetTherm(text: string): LoadLevel | null {
  const limit = (name: string) => {
    const match = new RegExp(`^\\s*${name}\\s*=\\s*(\\d+)`, 'm').exec(text);
    return match ? Math.min(100, Number(match[1])) : null;
  };
  const speed = limit('CPU_Speed_Limit');
  const scheduler = limit('CPU_Scheduler_Limit');
  if (speed === null && scheduler === null) return null;
  const available = ((speed ?? 100) * (scheduler ?? 100)) / 100;
  if (available >= 100) return 'nominal';
  if (available >= 80) return 'fair';
  if (available >= 50) return 'serious';
  return 'critical';
}

/**
 * The first `"HIDIdleTime" = <ns>` in `ioreg -r -c IOHIDSystem -d 1` output, in ms: the time since the
 * last keyboard, mouse or trackpad input. Null when there is none (no HID system in a VM, a sandbox).
 */
export function parseHidIdleTime(text: string): number | null {
  const match = /"HIDIdleTime"\s*=\s*(\d+)/.exec(text);
  return match ? Math.floor(Number(match[1]) / 1e6) : null;
}

/**
 * Input older than this makes the user `idle`. A minute keeps reading a long page from flipping the
 * state on every poll, while policies still get the true last-input time in `idleSince` to apply their
 * own, longer requirement (`deviceIdleRequiredMs`).
 */
export const DARWIN_IDLE_AFTER_MS = 60_000;

/** The activity for `idleMs` of no input at wall time `now`: `idle` since the last input, or `active`. */
export function activityFromIdleTime(
  idleMs: number,
  now: number,
  idleAfterMs = DARWIN_IDLE_AFTER_MS,
): { userActivity: UserActivity; idleSince: number | null } {
  return idleMs >= idleAfterMs
    ? { userActivity: 'idle', idleSince: now - idleMs }
    : { userActivity: 'active', idleSince: null };
}

/**
 * `idleSince` is computed as now minus the idle time, so it wobbles by the few ms between ioreg's sample
 * and our clock read. Wobbles under this are ignored, or every poll would look like a change.
 */
const IDLE_SINCE_JITTER_MS = 2_000;

/** Seams for tests: the real ones run `pmset`/`ioreg` and read `os.networkInterfaces()` and the clock. */
export interface DarwinSensorsOptions {
  /** Runs `pmset -g batt`. */
  readonly runPmset?: () => Promise<string>;
  /** Runs the other helpers (`/usr/bin/pmset -g`, `/usr/bin/pmset -g therm`, `/usr/sbin/ioreg ...`). */
  readonly run?: (file: string, args: readonly string[]) => Promise<string>;
  readonly networkInterfaces?: () => InterfaceTable;
  /** Wall-clock ms. */
  readonly now?: () => number;
}

/**
 * Sensors for macOS. A field is left out of a reading when it could not be determined (a helper
 * failed or printed nothing we know, no interfaces), so the conditions fall back to their defaults.
 */
export function createDarwinSensors(options: DarwinSensorsOptions = {}): Sensors {
  const runPmset = options.runPmset ?? (() => runPmsetBatt());
  const run = options.run ?? ((file: string, args: readonly string[]) => runCommand(file, args));
  const getInterfaces = options.networkInterfaces ?? osNetworkInterfaces;
  const now = options.now ?? Date.now;
  let lastIdleSince: number | null = null;
  return {
    async read() {
      const reading: { -readonly [K in keyof Conditions]?: Conditions[K] } = {};
      // In parallel: each helper takes tens of ms, and a failure of one says nothing about the others.
      const [batt, settings, therm, ioreg] = await Promise.allSettled([
        runPmset(),
        run('/usr/bin/pmset', ['-g']),
        run('/usr/bin/pmset', ['-g', 'therm']),
        run('/usr/sbin/ioreg', ['-r', '-c', 'IOHIDSystem', '-d', '1']),
      ]);
      if (batt.status === 'fulfilled') {
        const parsed = parsePmsetBatt(batt.value);
        if (parsed.power !== 'unknown') {
          reading.power = parsed.power;
          reading.batteryLevel = parsed.batteryLevel;
        }
      }
      const lowPowerMode = settings.status === 'fulfilled' ? parsePmsetLowPowerMode(settings.value) : null;
      if (lowPowerMode !== null) reading.lowPowerMode = lowPowerMode;
      const thermalState = therm.status === 'fulfilled' ? parsePmsetTherm(therm.value) : null;
      if (thermalState !== null) reading.thermalState = thermalState;
      const idleMs = ioreg.status === 'fulfilled' ? parseHidIdleTime(ioreg.value) : null;
      if (idleMs !== null) {
        const activity = activityFromIdleTime(idleMs, now());
        if (
          activity.idleSince !== null &&
          lastIdleSince !== null &&
          Math.abs(activity.idleSince - lastIdleSince) < IDLE_SINCE_JITTER_MS
        ) {
          activity.idleSince = lastIdleSince;
        }
        lastIdleSince = activity.idleSince;
        reading.userActivity = activity.userActivity;
        reading.idleSince = activity.idleSince;
      }
      const network = readNetworkFrom(getInterfaces);
      if (network !== 'unknown') reading.network = network;
      return reading;
    },
  };
}
