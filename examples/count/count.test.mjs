// The counting example in virtual time: it counts to 100 with progress, and stops when cancelled.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTestSystem } from 'bgtasks/testing';
import { startCount } from './app.mjs';

const APP = 'com.example.count';
const DIR = fileURLToPath(new URL('.', import.meta.url));

describe('count', () => {
  it('counts to 100 as a continued task, with its progress recorded', async (t) => {
    const system = await createTestSystem({
      apps: [{ dir: DIR, main: (scheduler) => startCount(scheduler, { run: 'one', step: async () => {} }) }],
    });
    t.after(() => system.close());
    await system.openApp(APP);
    const run = await system.next('completed', 'com.example.count.one');
    assert.equal(run.outcome, 'success');
    assert.deepEqual([run.continued.completedUnits, run.continued.totalUnits], [100, 100]);
  });

  it('stops counting when the person cancels it', async (t) => {
    let release;
    const gate = () => new Promise((resolve) => (release = resolve));
    const system = await createTestSystem({
      apps: [{ dir: DIR, keepsRunning: true, main: (scheduler) => startCount(scheduler, { run: 'two', step: gate }) }],
    });
    t.after(() => system.close());
    await system.openApp(APP);
    const started = await system.next('started', 'com.example.count.two');
    release();
    await system.settle();
    await system.scheduler.cancelTask(started.taskId);
    release();
    const run = await system.next('completed', 'com.example.count.two');
    assert.equal(run.expirationReason, 'userCancelled');
    assert.ok(run.continued.completedUnits < 100, `stopped at ${run.continued.completedUnits}`);
  });
});
