import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalesceRunWrites } from '../../src/daemon/coalesce.js';
import type { TaskRun } from '../../src/engine/types.js';
import { openStore } from '../../src/store/index.js';
import type { StoreBatch } from '../../src/store/store.js';

function run(taskId: string): TaskRun {
  return {
    taskId,
    requestId: `r-${taskId}`,
    appId: 'com.example.app',
    identifier: 'com.example.app.job',
    kind: 'refresh',
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    earliestBeginAt: null,
    submittedAt: 1,
    eligibleAt: 1,
    forced: false,
    state: 'launching',
    launch: null,
    launchedAt: null,
    startedAt: null,
    deadlineAt: null,
    expiredAt: null,
    expirationReason: null,
    completedAt: null,
    outcome: null,
    reason: null,
    error: null,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    background: false,
    cpuMs: null,
    continued: null,
  };
}

const LIFE: StoreBatch[] = [
  {
    insertRuns: [run('a')],
    events: [
      {
        at: 1,
        appId: 'com.example.app',
        identifier: null,
        taskId: 'a',
        type: 'dispatched',
        reason: null,
        detail: null,
      },
    ],
  },
  { updateRuns: [{ taskId: 'a', state: 'running', launch: 'alreadyRunning', launchedAt: 2 }] },
  { updateRuns: [{ taskId: 'b', startedAt: 3 }] },
  {
    updateRuns: [
      { taskId: 'a', startedAt: 3 },
      { taskId: 'b', state: 'finished', outcome: 'success', completedAt: 4 },
    ],
  },
  { updateRuns: [{ taskId: 'a', state: 'finished', outcome: 'success', completedAt: 5 }] },
];

describe('coalesceRunWrites', () => {
  it('folds the updates of a run inserted in the same group into its insert', () => {
    const out = coalesceRunWrites(LIFE);
    assert.equal(out.length, 2, 'batches left empty are dropped');
    assert.deepEqual(out[0]?.insertRuns, [
      {
        ...run('a'),
        state: 'finished',
        launch: 'alreadyRunning',
        launchedAt: 2,
        startedAt: 3,
        outcome: 'success',
        completedAt: 5,
      },
    ]);
    assert.equal(out[0]?.events?.length, 1, 'other parts stay where they were');
    assert.deepEqual(out[1]?.updateRuns, [
      { taskId: 'b', startedAt: 3, state: 'finished', outcome: 'success', completedAt: 4 },
    ]);
  });

  it('leaves the store exactly as applying the batches one by one would', async () => {
    const seed: StoreBatch = { insertRuns: [run('b')] };
    const oneByOne = openStore(':memory:');
    const folded = openStore(':memory:');
    for (const store of [oneByOne, folded]) {
      await store.migrate();
      await store.apply(seed);
    }
    for (const batch of LIFE) await oneByOne.apply(batch);
    await folded.apply(coalesceRunWrites(LIFE));
    assert.deepEqual(await folded.listRuns(), await oneByOne.listRuns());
    assert.deepEqual(
      (await folded.listEvents()).map(({ type, taskId }) => ({ type, taskId })),
      (await oneByOne.listEvents()).map(({ type, taskId }) => ({ type, taskId })),
    );
    await oneByOne.close();
    await folded.close();
  });

  it('returns a single batch as it is', () => {
    assert.deepEqual(coalesceRunWrites([LIFE[0]!]), [LIFE[0]]);
  });
});
