/**
 * Whether a person is at the machine, from systemd-logind. Which seats exist and which session is in
 * the foreground of each come from logind's state files in /run/systemd (plain file reads, what
 * libsystemd's sd-login does too); whether that session is idle is only on D-Bus (`IdleHint`,
 * `IdleSinceHint`, `LockedHint` of the Session object), read over the shared system-bus connection.
 *
 * Only sessions on a seat count. SSH and other remote sessions have no seat, and logind keeps their
 * IdleHint false for as long as they exist (unless IdleAction= is configured), so the manager-wide
 * IdleHint would call an unattended server "active" whenever someone is logged in over SSH.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { UserActivity } from '../engine/conditions.js';
import { encodePathLabel } from './dbusEncode.js';
import { nameOwnerChangedRule, propertiesChangedRule, type PropertyReader } from './systemBus.js';

const LOGIND = 'org.freedesktop.login1';
const SESSION_INTERFACE = 'org.freedesktop.login1.Session';

/** Signals after which the activity is re-read: idle/lock hints, seat switches, sessions coming and going, resume. */
export const LOGIND_MATCH_RULES: readonly string[] = [
  propertiesChangedRule(LOGIND, { pathNamespace: '/org/freedesktop/login1' }),
  // SessionNew/SessionRemoved, SeatNew/SeatRemoved, PrepareForSleep (false = resumed).
  `type='signal',sender='${LOGIND}',interface='org.freedesktop.login1.Manager',path='/org/freedesktop/login1'`,
  nameOwnerChangedRule(LOGIND),
];

/** One seat's state file, as far as this module needs it. */
export interface SeatState {
  readonly id: string;
  /** The session in the seat's foreground, or null when none is (nobody logged in at it). */
  readonly activeSession: string | null;
}

/** What one session's hints say; undefined where they could not be read. */
export interface SessionIdleState {
  readonly idle: boolean;
  /** Wall ms of the last idle-hint change when idle, if logind knows it. */
  readonly idleSince: number | null;
}

export interface UserActivityReading {
  readonly userActivity: UserActivity;
  readonly idleSince: number | null;
}

/**
 * The seats logind has written state files for, or null when there is no seats directory at all
 * (logind is not running: containers, non-systemd machines). Never throws.
 *
 * Names are filtered to logind's valid seat names so that the temporary files it writes before an
 * atomic rename (`.#seat0` plus six random characters) are never read half-written.
 */
export function readSeats(runRoot = '/run/systemd'): SeatState[] | null {
  const dir = join(runRoot, 'seats');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const seats: SeatState[] = [];
  for (const id of names.filter((name) => /^seat[A-Za-z0-9_-]*$/.test(name)).sort()) {
    const fields = readEnvFile(join(dir, id));
    if (fields === null) continue; // removed between readdir and read
    seats.push({ id, activeSession: fields.get('ACTIVE') || null });
  }
  return seats;
}

/** Parses systemd's `KEY=value` state files; comments and malformed lines are skipped. */
export function parseEnvFile(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('#') || eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]))
      value = value.slice(1, -1);
    fields.set(line.slice(0, eq).trim(), value);
  }
  return fields;
}

function readEnvFile(path: string): Map<string, string> | null {
  try {
    return parseEnvFile(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** The logind object path of a session id (`2` → `/org/freedesktop/login1/session/_32`). */
export function sessionObjectPath(sessionId: string): string {
  return `/org/freedesktop/login1/session/${encodePathLabel(sessionId)}`;
}

/**
 * Reads one session's hints. A locked session counts as idle even when the desktop does not set
 * IdleHint (KDE is reported not to): locking the screen is the clearest sign that nobody is there. Its
 * `idleSince` is then unknown (null: idle long enough), since logind does not say when it was locked.
 */
export async function readSessionIdle(
  getProperty: PropertyReader,
  sessionId: string,
): Promise<SessionIdleState | undefined> {
  const path = sessionObjectPath(sessionId);
  const [idleHint, idleSinceHint, lockedHint] = await Promise.all([
    getProperty(LOGIND, path, SESSION_INTERFACE, 'IdleHint'),
    getProperty(LOGIND, path, SESSION_INTERFACE, 'IdleSinceHint'),
    getProperty(LOGIND, path, SESSION_INTERFACE, 'LockedHint'),
  ]);
  if (typeof idleHint !== 'boolean') return undefined;
  if (idleHint) {
    // IdleSinceHint is CLOCK_REALTIME in µs, 0 when never set.
    const since = typeof idleSinceHint === 'number' && idleSinceHint > 0 ? Math.floor(idleSinceHint / 1000) : null;
    return { idle: true, idleSince: since };
  }
  return lockedHint === true ? { idle: true, idleSince: null } : { idle: false, idleSince: null };
}

/**
 * Combines the foreground sessions of all seats:
 *
 * - no seat, or no seat with a foreground session → `noSeat` (logind creates seat0 even on headless
 *   servers, so "a seat file exists" alone does not mean anyone could be sitting there);
 * - any session not idle → `active`;
 * - all idle → `idle`, since the most recent idle time (null when none is known: idle long enough);
 * - some could not be read and none is active → undefined (the field is left out).
 */
export function combineSessions(states: readonly (SessionIdleState | undefined)[]): UserActivityReading | undefined {
  if (states.length === 0) return { userActivity: 'noSeat', idleSince: null };
  if (states.some((state) => state !== undefined && !state.idle)) return { userActivity: 'active', idleSince: null };
  if (states.some((state) => state === undefined)) return undefined;
  const known = states.map((state) => state!.idleSince).filter((since): since is number => since !== null);
  return { userActivity: 'idle', idleSince: known.length === 0 ? null : Math.max(...known) };
}

/**
 * `userActivity` and `idleSince` for this machine, or undefined when logind has seats but cannot be asked. Never
 * rejects.
 */
export async function readUserActivity(
  runRoot: string | undefined,
  getProperty: PropertyReader,
): Promise<UserActivityReading | undefined> {
  const seats = readSeats(runRoot);
  if (seats === null) return { userActivity: 'noSeat', idleSince: null };
  const sessions = [...new Set(seats.map((seat) => seat.activeSession).filter((id): id is string => id !== null))];
  const states = await Promise.all(sessions.map((id) => readSessionIdle(getProperty, id).catch(() => undefined)));
  return combineSessions(states);
}
