/**
 * Child submissions (issue 17, item 3; src/engine/chains.ts), the same for every store: a request
 * submitted from a handler is recorded with its parent request and the run that submitted it, in the
 * batch that writes the request; the first record of an (app, parent request, identifier) stands; and
 * the records are pruned with history, unless their parent request is pending again.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { earlierAttempt, type ChildSubmission } from '../../src/engine/chains.js';
import type { Store } from '../../src/store/store.js';
import { T0, app, request, storeError } from './store.contract.js';

const DAY = 86_400_000;
const FEEDS = 'com.example.feeds';
const STEP = `${FEEDS}.export.step`;

export function child(overrides: Partial<ChildSubmission> = {}): ChildSubmission {
  return {
    appId: FEEDS,
    parentRequestId: 'parent-req',
    identifier: STEP,
    parentTaskId: 'run-1',
    at: T0 + 1_000,
    ...overrides,
  };
}

export function chainsContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract, child submissions: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
      const other = app({ appId: 'com.example.other', permittedIdentifiers: ['com.example.other.*'] });
      await store.apply({ putApps: [app(), other] });
    });
    afterEach(async () => {
      await store.close();
    });

    it('writes the record with its request, and lists it by app and parent request only', async () => {
      const successor = request({ requestId: 'succ-1', identifier: STEP, kind: 'processing' });
      await store.apply({ putRequests: [successor], putChildSubmissions: [child()] });
      await store.apply({
        putChildSubmissions: [
          child({ parentRequestId: 'another-parent', identifier: `${FEEDS}.export.other` }),
          child({ appId: 'com.example.other', identifier: 'com.example.other.step' }),
        ],
      });
      assert.deepEqual(await store.listChildSubmissions(FEEDS, ['parent-req']), [child()]);
      assert.equal((await store.listChildSubmissions(FEEDS, ['parent-req', 'another-parent'])).length, 2);
      assert.deepEqual(await store.listChildSubmissions(FEEDS, ['nobody']), []);
      assert.deepEqual(await store.listChildSubmissions(FEEDS, []), []);
      assert.deepEqual(
        (await store.listRequests()).map((r) => r.requestId),
        ['succ-1'],
      );
    });

    it("keeps the first run's record: a later run of the same parent is then told apart as a repeat", async () => {
      await store.apply({ putChildSubmissions: [child()] });
      // The re-run's own record (it would come with a submission that was let through) changes nothing.
      await store.apply({ putChildSubmissions: [child({ parentTaskId: 'run-2', at: T0 + 9_000 })] });
      const records = await store.listChildSubmissions(FEEDS, ['parent-req']);
      assert.deepEqual(records, [child()]);
      assert.deepEqual(earlierAttempt({ requestId: 'parent-req', taskId: 'run-2' }, STEP, records), child());
      const sameRun = earlierAttempt({ requestId: 'parent-req', taskId: 'run-1' }, STEP, records);
      assert.equal(sameRun, undefined, 'the same run replaces');
      const anotherRequest = earlierAttempt({ requestId: 'next-period-req', taskId: 'run-3' }, STEP, records);
      assert.equal(anotherRequest, undefined, 'another request (a retry, the next period) submits anew');
    });

    it('writes nothing of a batch that fails: the record and its request commit together', async () => {
      const bad = request({ requestId: 'succ-1', identifier: STEP, kind: 'processing', attempt: 0 });
      const both = store.apply({ putRequests: [bad], putChildSubmissions: [child()] });
      await assert.rejects(both, storeError('storeInvalid', 'attempt'));
      assert.deepEqual(await store.listChildSubmissions(FEEDS, ['parent-req']), []);
      const noTask = store.apply({ putChildSubmissions: [child({ parentTaskId: '' })] });
      await assert.rejects(noTask, storeError('storeInvalid', 'parentTaskId'));
      await assert.rejects(store.listChildSubmissions('', ['parent-req']), storeError('storeInvalid', 'appId'));
      await assert.rejects(store.listChildSubmissions(FEEDS, [''] as string[]), storeError('storeInvalid'));
    });

    it('prunes old records with history, but keeps those whose parent request is pending again', async () => {
      await store.apply({
        putRequests: [request({ requestId: 'put-back-parent' })],
        putChildSubmissions: [
          child({ parentRequestId: 'done-parent', at: T0 - 40 * DAY }),
          child({ parentRequestId: 'put-back-parent', at: T0 - 40 * DAY }),
          child({ parentRequestId: 'recent-parent', at: T0 - DAY }),
        ],
      });
      const result = await store.pruneHistory({ before: T0 - 30 * DAY, keepRunsPerApp: 1_000, limit: 100 });
      assert.equal(result.more, false);
      const left = await store.listChildSubmissions(FEEDS, ['done-parent', 'put-back-parent', 'recent-parent']);
      assert.deepEqual(left.map((record) => record.parentRequestId).sort(), ['put-back-parent', 'recent-parent']);
    });

    it('prunes in rounds of at most `limit` records', async () => {
      const old = Array.from({ length: 5 }, (_, n) => child({ parentRequestId: `old-${n}`, at: T0 - 40 * DAY + n }));
      await store.apply({ putChildSubmissions: old });
      const first = await store.pruneHistory({ before: T0 - 30 * DAY, keepRunsPerApp: 1_000, limit: 3 });
      assert.equal(first.more, true);
      assert.equal(
        (
          await store.listChildSubmissions(
            FEEDS,
            old.map((record) => record.parentRequestId),
          )
        ).length,
        2,
      );
      await store.pruneHistory({ before: T0 - 30 * DAY, keepRunsPerApp: 1_000, limit: 3 });
      assert.deepEqual(
        await store.listChildSubmissions(
          FEEDS,
          old.map((record) => record.parentRequestId),
        ),
        [],
      );
    });
  });
}
