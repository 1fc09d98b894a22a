/**
 * Reads the power source on Linux from `/sys/class/power_supply`, the way systemd decides "on AC"
 * (`systemd-ac-power`, src/shared/battery-util.c). Reading sysfs is synchronous and cheap (attribute
 * files are generated in memory by the kernel), so a poll costs microseconds.
 */
import { listDir, readText } from './fsRead.js';
import { join } from 'node:path';

import type { PowerSource } from '../engine/conditions.js';

/** What {@link readLinuxPower} found. */
export interface LinuxPowerReading {
  readonly power: PowerSource;
  /** Charge of the first real battery in percent (0 to 100), or null when there is none or it cannot be read. */
  readonly batteryLevel: number | null;
}

/**
 * Decides where the machine draws power from, following systemd:
 *
 * 1. Batteries with `scope=Device` (a mouse, a headset) or `present=0` are skipped.
 * 2. Any other supply (Mains, USB, UPS, Wireless) with `online > 0` means `'ac'`.
 * 3. Otherwise a real battery with `status=Discharging` means `'battery'`.
 * 4. Otherwise, if any supply was considered, `'ac'` (a battery held by a charge threshold, a desktop
 *    with an offline UPS); if none was, `'unknown'` (servers and VMs have no supplies at all).
 *
 * Unlike systemd, a USB-C port in the source role is not told apart from one that feeds the machine:
 * that needs the typec class, and only matters when the machine powers another device while on battery.
 *
 * Never throws: an unreadable directory or file counts as absent.
 *
 * @param root The power-supply class directory; tests pass a fake tree.
 */
export function readLinuxPower(root = '/sys/class/power_supply'): LinuxPowerReading {
  let considered = 0;
  let acOnline = false;
  let discharging = false;
  let batteryLevel: number | null = null;
  let sawBattery = false;

  // Sorted, because readdir order is unspecified and "the first battery" must be stable (BAT0 before BAT1).
  for (const name of listDir(root).sort()) {
    const dir = join(root, name);
    const type = readAttr(dir, 'type');
    if (type === 'Battery') {
      if (readAttr(dir, 'scope') === 'Device' || readAttr(dir, 'present') === '0') continue;
      considered++;
      if (readAttr(dir, 'status') === 'Discharging') discharging = true;
      if (!sawBattery) {
        sawBattery = true;
        batteryLevel = readBatteryLevel(dir);
      }
    } else {
      considered++;
      // `online` is 1 for fixed voltage and 2 for programmable (USB PD PPS), so test > 0, not === 1.
      const online = Number(readAttr(dir, 'online'));
      if (Number.isFinite(online) && online > 0) acOnline = true;
    }
  }

  let power: PowerSource;
  if (acOnline) power = 'ac';
  else if (discharging) power = 'battery';
  else power = considered > 0 ? 'ac' : 'unknown';
  return { power, batteryLevel };
}

/** `capacity` when the driver has it, else derived from energy (µWh) or charge (µAh) counters. */
function readBatteryLevel(dir: string): number | null {
  const capacity = readNumber(dir, 'capacity');
  if (capacity !== null) return clampPercent(capacity);
  for (const [now, full] of [
    ['energy_now', 'energy_full'],
    ['charge_now', 'charge_full'],
  ] as const) {
    const nowValue = readNumber(dir, now);
    const fullValue = readNumber(dir, full);
    if (nowValue !== null && fullValue !== null && fullValue > 0) return clampPercent((nowValue / fullValue) * 100);
  }
  return null;
}

/** Worn or miscalibrated batteries report `energy_now` above `energy_full`; keep the value in 0..100. */
function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, Math.round(value)));
}

function readNumber(dir: string, attr: string): number | null {
  const text = readAttr(dir, attr);
  if (text === null || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function readAttr(dir: string, attr: string): string | null {
  return readText(join(dir, attr));
}
