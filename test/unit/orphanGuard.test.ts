import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ORPHAN_GRACE_MS, OrphanGuard, type OrphanGuardHooks } from '../../src/sdk/orphanGuard.js';

/** The guard's grace runs on node:test's mocked timers: no real waiting. */
function harness(overrides: Partial<OrphanGuardHooks> = {}) {
  const exits: number[] = [];
  const logs: string[] = [];
  let reconnects = 0;
  const hooks: OrphanGuardHooks = {
    launchedByDaemon: () => true,
    closed: () => false,
    reconnect: () => {
      reconnects++;
      return Promise.reject(new Error('daemonUnreachable'));
    },
    exit: (code) => exits.push(code),
    log: (level, message) => logs.push(`${level} ${message}`),
    ...overrides,
  };
  return { guard: new OrphanGuard(hooks), exits, logs, reconnects: () => reconnects };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('OrphanGuard: a launched process whose daemon went away', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('tries the daemon once after the grace and exits when it is still gone', async () => {
    const { guard, exits, logs, reconnects } = harness();
    guard.linkLost();
    guard.linkLost(); // one grace, however many drops
    mock.timers.tick(ORPHAN_GRACE_MS - 1);
    await settle();
    assert.deepEqual(exits, [], 'not before the grace');
    mock.timers.tick(1);
    await settle();
    assert.equal(reconnects(), 1);
    assert.deepEqual(exits, [1]);
    assert.match(logs.join('\n'), /gone for 5000 ms: exiting/);
  });

  it('stays when the daemon is back (a restart within the grace)', async () => {
    let tried = 0;
    const { guard, exits } = harness({ reconnect: () => Promise.resolve(tried++) });
    guard.linkLost();
    mock.timers.tick(ORPHAN_GRACE_MS);
    await settle();
    assert.equal(tried, 1);
    assert.deepEqual(exits, []);
  });

  it('does nothing once reconnected or closed, nor for a process a person started', async () => {
    const cancelled = harness();
    cancelled.guard.linkLost();
    cancelled.guard.cancel();
    const user = harness({ launchedByDaemon: () => false });
    user.guard.linkLost();
    let closed = false;
    const closing = harness({ closed: () => closed });
    closing.guard.linkLost();
    closed = true;
    mock.timers.tick(ORPHAN_GRACE_MS * 2);
    await settle();
    for (const { exits, reconnects } of [cancelled, user, closing]) {
      assert.deepEqual(exits, []);
      assert.equal(reconnects(), 0);
    }
  });
});
