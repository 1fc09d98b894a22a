/**
 * The thermal state on Linux from the thermal class (Documentation/driver-api/thermal/sysfs-api.rst):
 * each `/sys/class/thermal/thermal_zone*` has `temp` in millidegrees Celsius and trip points
 * (`trip_point_N_type`, `trip_point_N_temp`) where the platform acts: `passive` (throttling starts),
 * `hot` (the platform warns), `critical` (shutdown). The worst zone decides.
 *
 * Trip points are the platform's own knowledge of its limits, so they are used whenever a zone has
 * them; only zones without passive or hot trips fall back to absolute temperatures. Zone change events
 * come over thermal generic netlink, which Node cannot join without a native addon, so this is polled
 * (sysfs reads are cheap; the kernel samples most zones every 1 to 5 s anyway).
 */
import { listDir, readText } from './fsRead.js';
import { join } from 'node:path';

import type { LoadLevel } from '../engine/conditions.js';
import { settleLevel, worseLevel } from './levels.js';

/** Within this many m°C of the lowest `critical` trip, the zone is `critical`: shutdown is near. */
export const CRITICAL_TRIP_MARGIN_MC = 5_000;
/** Within this many m°C below the lowest `passive` or `hot` trip, the zone is `fair`: throttling is near. */
export const THROTTLE_TRIP_MARGIN_MC = 10_000;
/**
 * Absolute bounds (m°C) of `fair`, `serious` and `critical` for zones without passive or hot trips. CPU
 * packages run at 70 to 85 °C under sustained load and most throttle near 95 to 100 °C (Intel's TjMax is
 * typically 100 °C), so: 75 °C is warm, 85 °C is hot, 95 °C is at the throttling point.
 */
export const ABSOLUTE_THRESHOLDS_MC = Object.freeze({ fair: 75_000, serious: 85_000, critical: 95_000 });
/** A level is left for a lower one only once the zone is this many m°C below the bound (sensor noise is ±1 °C). */
export const THERMAL_HYSTERESIS_MC = 2_000;

/** A trip point as read from sysfs. */
export interface TripPoint {
  readonly type: string;
  /** m°C */
  readonly temp: number;
}

/** Trip temperatures outside this range are unset placeholders (0, -274000 = THERMAL_TEMP_INVALID, INT_MAX). */
function plausibleTrip(temp: number): boolean {
  return temp > 0 && temp <= 200_000;
}

/** The level of one zone at `temp` m°C, given its trip points. */
export function zoneLevel(temp: number, trips: readonly TripPoint[]): LoadLevel {
  const lowest = (type: string) => {
    const temps = trips.filter((trip) => trip.type === type && plausibleTrip(trip.temp)).map((trip) => trip.temp);
    return temps.length === 0 ? undefined : Math.min(...temps);
  };
  const critical = lowest('critical');
  const throttleTrips = [lowest('passive'), lowest('hot')].filter((value): value is number => value !== undefined);

  let level: LoadLevel = 'nominal';
  if (throttleTrips.length > 0) {
    const throttleAt = Math.min(...throttleTrips);
    if (temp >= throttleAt) level = 'serious';
    else if (temp >= throttleAt - THROTTLE_TRIP_MARGIN_MC) level = 'fair';
  } else {
    if (temp >= ABSOLUTE_THRESHOLDS_MC.critical) level = 'critical';
    else if (temp >= ABSOLUTE_THRESHOLDS_MC.serious) level = 'serious';
    else if (temp >= ABSOLUTE_THRESHOLDS_MC.fair) level = 'fair';
  }
  if (critical !== undefined && temp >= critical - CRITICAL_TRIP_MARGIN_MC) level = 'critical';
  return level;
}

/**
 * The worst level over all thermal zones, or undefined when no zone's temperature could be read (no
 * thermal class: VMs, containers, many desktops whose sensors are only in hwmon). Never throws: zones
 * whose `temp` fails to read (some drivers return EIO or ENODATA while the device sleeps) are skipped.
 *
 * @param root The thermal class directory; tests pass a fake tree.
 * @param previous The last level reported; a drop from it waits for {@link THERMAL_HYSTERESIS_MC}.
 */
export function readLinuxThermal(root = '/sys/class/thermal', previous?: LoadLevel): LoadLevel | undefined {
  let worst: LoadLevel | undefined;
  let worstRaised: LoadLevel = 'nominal';
  for (const zone of listDir(root).filter((name) => /^thermal_zone\d+$/.test(name))) {
    const dir = join(root, zone);
    const temp = readNumber(join(dir, 'temp'));
    if (temp === null || temp <= -273_000) continue;
    const trips = readTrips(dir);
    const level = zoneLevel(temp, trips);
    worst = worst === undefined ? level : worseLevel(worst, level);
    worstRaised = worseLevel(worstRaised, zoneLevel(temp + THERMAL_HYSTERESIS_MC, trips));
  }
  return worst === undefined ? undefined : settleLevel(previous, worst, worstRaised);
}

function readTrips(dir: string): TripPoint[] {
  const trips: TripPoint[] = [];
  for (const name of listDir(dir)) {
    const match = /^trip_point_(\d+)_type$/.exec(name);
    if (!match) continue;
    const type = readText(join(dir, name));
    const temp = readNumber(join(dir, `trip_point_${match[1]}_temp`));
    if (type !== null && temp !== null) trips.push({ type, temp });
  }
  return trips;
}

function readNumber(path: string): number | null {
  const text = readText(path);
  if (text === null || !/^-?\d+$/.test(text)) return null;
  return Number(text);
}
