import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import {
  combineSessions,
  parseEnvFile,
  readSeats,
  readSessionIdle,
  readUserActivity,
  sessionObjectPath,
} from '../../src/conditions/linuxSession.js';
import type { PropertyReader } from '../../src/conditions/systemBus.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-logind-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** seat0 with a graphical session in front, as logind writes it (systemd 252). */
const SEAT0_ACTIVE =
  '# This is private data. Do not parse.\nIS_SEAT0=1\nCAN_MULTI_SESSION=1\nCAN_TTY=1\nCAN_GRAPHICAL=1\nACTIVE=2\nACTIVE_UID=1000\nSESSIONS=2 ' +
  'c1\nUIDS=1000 120\n';
/** seat0 on a headless server: logind creates it anyway, with nobody on it. */
const SEAT0_EMPTY =
  '# This is private data. Do not parse.\nIS_SEAT0=1\nCAN_MULTI_SESSION=1\nCAN_TTY=1\nCAN_GRAPHICAL=0\n';

let trees = 0;
/** A fake /run/systemd with the given seat files; null makes no seats directory at all (no logind). */
function run(seats: Record<string, string> | null): string {
  const root = join(base, `run-${trees++}`);
  mkdirSync(root);
  if (seats !== null) {
    mkdirSync(join(root, 'seats'));
    for (const [name, text] of Object.entries(seats)) writeFileSync(join(root, 'seats', name), text);
  }
  return root;
}

interface FakeSession {
  IdleHint?: unknown;
  IdleSinceHint?: unknown;
  LockedHint?: unknown;
}

/** A logind that knows the given sessions, by object path; anything else reads as absent. */
function logind(sessions: Record<string, FakeSession>): PropertyReader {
  return async (destination, path, iface, property) => {
    if (destination !== 'org.freedesktop.login1' || iface !== 'org.freedesktop.login1.Session') return undefined;
    const id = Object.keys(sessions).find((candidate) => sessionObjectPath(candidate) === path);
    return id === undefined ? undefined : sessions[id]![property as keyof FakeSession];
  };
}

const noBus: PropertyReader = async () => undefined;
/** 2026-01-01T00:00:00Z in logind's µs. */
const IDLE_SINCE_US = Date.UTC(2026, 0, 1) * 1000;

describe('parseEnvFile', () => {
  it('reads KEY=value lines, skipping comments and junk, unquoting values', () => {
    const fields = parseEnvFile('# comment\nACTIVE=2\nnot a field\n=nokey\nDESKTOP="gnome"\nEMPTY=\n');
    assert.deepEqual(
      [...fields],
      [
        ['ACTIVE', '2'],
        ['DESKTOP', 'gnome'],
        ['EMPTY', ''],
      ],
    );
  });
});

describe('readSeats', () => {
  it('reads each seat and its foreground session', () => {
    const root = run({ seat0: SEAT0_ACTIVE, 'seat-usb1': SEAT0_EMPTY });
    assert.deepEqual(readSeats(root), [
      { id: 'seat-usb1', activeSession: null },
      { id: 'seat0', activeSession: '2' },
    ]);
  });

  it("skips logind's temporary files and anything not named like a seat", () => {
    const root = run({ seat0: SEAT0_EMPTY, '.#seat0Xa1b2c': SEAT0_ACTIVE, README: 'x' });
    assert.deepEqual(readSeats(root), [{ id: 'seat0', activeSession: null }]);
  });

  it('is null without a seats directory (no logind) and empty with an empty one', () => {
    assert.equal(readSeats(run(null)), null);
    assert.equal(readSeats(join(base, 'missing')), null);
    assert.deepEqual(readSeats(run({})), []);
  });
});

describe('readSessionIdle', () => {
  it('reads an idle session with its idle-since time in wall ms', async () => {
    const reader = logind({ '2': { IdleHint: true, IdleSinceHint: IDLE_SINCE_US + 999, LockedHint: false } });
    assert.deepEqual(await readSessionIdle(reader, '2'), { idle: true, idleSince: Date.UTC(2026, 0, 1) });
  });

  it('reads an idle session without a timestamp as idle since an unknown time', async () => {
    assert.deepEqual(await readSessionIdle(logind({ c1: { IdleHint: true, IdleSinceHint: 0 } }), 'c1'), {
      idle: true,
      idleSince: null,
    });
  });

  it('reads a locked session as idle even when the desktop never sets IdleHint', async () => {
    assert.deepEqual(
      await readSessionIdle(logind({ '2': { IdleHint: false, IdleSinceHint: 5, LockedHint: true } }), '2'),
      { idle: true, idleSince: null },
    );
  });

  it('reads an active session, and is undefined when logind does not answer', async () => {
    assert.deepEqual(await readSessionIdle(logind({ '2': { IdleHint: false, LockedHint: false } }), '2'), {
      idle: false,
      idleSince: null,
    });
    assert.equal(await readSessionIdle(noBus, '2'), undefined);
    assert.equal(await readSessionIdle(logind({ '2': { IdleHint: 'yes' } }), '2'), undefined);
  });
});

describe('combineSessions', () => {
  const idleAt = (since: number | null) => ({ idle: true, idleSince: since });
  const active = { idle: false, idleSince: null };

  it('no foreground session anywhere is noSeat', () => {
    assert.deepEqual(combineSessions([]), { userActivity: 'noSeat', idleSince: null });
  });

  it('any active session makes the machine active, even if another could not be read', () => {
    assert.deepEqual(combineSessions([idleAt(5), active]), { userActivity: 'active', idleSince: null });
    assert.deepEqual(combineSessions([undefined, active]), { userActivity: 'active', idleSince: null });
  });

  it('all idle is idle since the most recent idle time', () => {
    assert.deepEqual(combineSessions([idleAt(100), idleAt(300), idleAt(null)]), {
      userActivity: 'idle',
      idleSince: 300,
    });
    assert.deepEqual(combineSessions([idleAt(null)]), { userActivity: 'idle', idleSince: null });
  });

  it('is undefined when a session could not be read and none is active', () => {
    assert.equal(combineSessions([idleAt(100), undefined]), undefined);
  });
});

describe('readUserActivity', () => {
  it('a machine without logind, or whose seats have nobody in front, has no seat', async () => {
    assert.deepEqual(await readUserActivity(run(null), noBus), { userActivity: 'noSeat', idleSince: null });
    assert.deepEqual(await readUserActivity(run({}), noBus), { userActivity: 'noSeat', idleSince: null });
    assert.deepEqual(await readUserActivity(run({ seat0: SEAT0_EMPTY }), noBus), {
      userActivity: 'noSeat',
      idleSince: null,
    });
  });

  it('reads the foreground session of the seat through logind', async () => {
    const root = run({ seat0: SEAT0_ACTIVE });
    assert.deepEqual(await readUserActivity(root, logind({ '2': { IdleHint: false, LockedHint: false } })), {
      userActivity: 'active',
      idleSince: null,
    });
    assert.deepEqual(await readUserActivity(root, logind({ '2': { IdleHint: true, IdleSinceHint: IDLE_SINCE_US } })), {
      userActivity: 'idle',
      idleSince: Date.UTC(2026, 0, 1),
    });
  });

  it('ignores background sessions (SSH has no seat; c1 is not in front)', async () => {
    const reader = logind({
      '2': { IdleHint: true, IdleSinceHint: IDLE_SINCE_US },
      c1: { IdleHint: false },
      '7': { IdleHint: false },
    });
    assert.equal((await readUserActivity(run({ seat0: SEAT0_ACTIVE }), reader))?.userActivity, 'idle');
  });

  it('leaves the field out when a seat has a session but logind cannot be asked (no system bus)', async () => {
    assert.equal(await readUserActivity(run({ seat0: SEAT0_ACTIVE }), noBus), undefined);
  });

  it('reads this machine with a valid value or nothing', async () => {
    const reading = await readUserActivity(undefined, noBus);
    assert.ok(reading === undefined || ['noSeat', 'active', 'idle'].includes(reading.userActivity));
  });
});
