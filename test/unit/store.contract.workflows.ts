/**
 * The store contract for workflows (docs/workflows.md; SQLite migration 8, PostgreSQL migration 5): a
 * request's and a run's payload and prerequisites, and a run's result. Each store's test file calls
 * {@link workflowsContract} next to `storeContract`.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Store } from '../../src/store/store.js';
import { T0, app, request, run } from './store.contract.js';

const payload = { file: 'holiday.mp4', pages: [1, 2, 3], nested: { ok: true, none: null, text: 'é ✓' } };

export function workflowsContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract, workflows: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('a request reads back its data and dependsOn; one without them has neither field', async () => {
      const dependent = request({
        requestId: 'req-2',
        identifier: 'x.upload',
        data: payload,
        dependsOn: ['x.export', 'x.scan'],
      });
      const plain = request();
      const scalar = request({ requestId: 'req-3', identifier: 'x.scalar', data: 'just a string' });
      await store.apply({ putRequests: [plain, dependent, scalar] });
      assert.deepEqual(await store.listRequests(), [plain, dependent, scalar]);
      const [readPlain] = await store.listRequests();
      assert.equal('data' in readPlain!, false);
      assert.equal('dependsOn' in readPlain!, false);
    });

    it('a replacement replaces data and dependsOn, to none and back', async () => {
      await store.apply({ putRequests: [request({ data: payload, dependsOn: ['x.export'] })] });
      const plain = request({ requestId: 'req-1b' });
      await store.apply({ putRequests: [plain] });
      assert.deepEqual(await store.listRequests(), [plain]);
      const again = request({ requestId: 'req-1c', data: [1, 2] });
      await store.apply({ putRequests: [again] });
      assert.deepEqual(await store.listRequests(), [again]);
    });

    it('a run reads back data, dependsOn and a result set by updateRuns', async () => {
      const started = run({ data: payload, dependsOn: ['x.export'] });
      await store.apply({ insertRuns: [started, run({ taskId: 'task-2' })] });
      assert.deepEqual(await store.getRun('task-1'), started);
      await store.apply({
        updateRuns: [
          { taskId: 'task-1', state: 'finished', outcome: 'success', completedAt: T0 + 5_000, result: { pages: 12 } },
        ],
      });
      const finished = await store.getRun('task-1');
      assert.deepEqual(finished?.result, { pages: 12 });
      assert.deepEqual(finished?.data, payload);
      const other = await store.getRun('task-2');
      assert.equal('result' in other!, false);
      assert.equal('data' in other!, false);
    });

    it(
      'an interrupted run is requeued with its data and its prerequisites (its task ' + 'gets their results again)',
      async () => {
        await store.apply({ putApps: [app()], insertRuns: [run({ data: payload, dependsOn: ['x.export'] })] });
        const { requeued } = await store.recoverInterruptedRuns(T0 + 100_000);
        assert.deepEqual(
          requeued.map((r) => [r.data, r.dependsOn]),
          [[payload, ['x.export']]],
        );
        const [pending] = await store.listRequests();
        assert.deepEqual(pending?.data, payload);
        assert.deepEqual(pending?.dependsOn, ['x.export']);
      },
    );
  });
}
