/**
 * The third part of the store contract (see `store.contract.ts`): background pushes and user
 * notifications (schema 4). Each store's test file calls {@link messagingContract} next to the others.
 *
 * By itself it defines no test, so running it alone reports none.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { NotificationRecord } from '../../src/engine/notifications.js';
import type { PushRecord } from '../../src/engine/push.js';
import type { Store } from '../../src/store/store.js';
import { T0, storeError } from './store.contract.js';

export function push(overrides: Partial<PushRecord> = {}): PushRecord {
  return {
    pushId: 'push-1',
    appId: 'com.example.inbox',
    seq: 1,
    receivedAt: T0,
    priority: 10,
    collapseId: null,
    collapsedCount: 0,
    expiresAt: null,
    data: { from: 'Ana', tags: ['a', 'b'], n: 1.5, ok: true, nothing: null },
    state: 'pending',
    attempts: 0,
    result: null,
    reason: null,
    finishedAt: null,
    taskId: null,
    ...overrides,
  };
}

export function notification(overrides: Partial<NotificationRecord> = {}): NotificationRecord {
  return {
    notificationId: 'n-1',
    appId: 'com.example.inbox',
    postedAt: T0,
    title: 'New mail',
    body: 'Lunch?',
    threadId: null,
    actions: [{ id: 'open', title: 'Open' }],
    state: 'posted',
    actionId: null,
    actedAt: null,
    handedAt: null,
    desktop: null,
    ...overrides,
  };
}

export function messagingContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract, pushes and notifications: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps pushes with their JSON as given, in seq order either way, filtered by app and state', async () => {
      const a = push();
      const b = push({ pushId: 'push-2', seq: 2, priority: 5, collapseId: 'score', data: 'just a string' });
      const other = push({ pushId: 'push-3', seq: 3, appId: 'com.example.other', data: [1, 2, 3] });
      await store.apply({ insertPushes: [a, b, other] });
      assert.deepEqual(await store.listPushes({ oldestFirst: true }), [a, b, other]);
      assert.deepEqual(
        (await store.listPushes({})).map((p) => p.pushId),
        ['push-3', 'push-2', 'push-1'],
      );
      assert.deepEqual(await store.listPushes({ appId: 'com.example.inbox', limit: 1 }), [b]);
      assert.deepEqual(await store.listPushes({ states: [] }), []);
      assert.equal(await store.lastPushSeq(), 3);
    });

    it('updates only the fields given, and counts by app and state', async () => {
      await store.apply({
        insertPushes: [push(), push({ pushId: 'push-2', seq: 2 }), push({ pushId: 'push-3', seq: 3, collapseId: 'x' })],
      });
      await store.apply({
        updatePushes: [
          {
            pushId: 'push-1',
            state: 'delivered',
            result: 'newData',
            attempts: 2,
            finishedAt: T0 + 5,
            taskId: 'task-9',
          },
          { pushId: 'push-3', state: 'collapsed', reason: 'collapsedInto:push-4' },
          { pushId: 'push-unknown', state: 'failed' },
        ],
      });
      const [first] = await store.listPushes({ states: ['delivered'] });
      assert.deepEqual(
        first,
        push({ state: 'delivered', result: 'newData', attempts: 2, finishedAt: T0 + 5, taskId: 'task-9' }),
      );
      assert.deepEqual(await store.countPushes('com.example.inbox'), [
        { appId: 'com.example.inbox', state: 'collapsed', count: 1 },
        { appId: 'com.example.inbox', state: 'delivered', count: 1 },
        { appId: 'com.example.inbox', state: 'pending', count: 1 },
      ]);
      assert.deepEqual(await store.countPushes('com.example.nobody'), []);
    });

    it(
      'refuses a malformed push, a reused seq, and an update of its app or order, ' + 'and writes nothing of the batch',
      async () => {
        await assert.rejects(
          store.apply({ insertPushes: [push({ priority: 7 as 5 })] }),
          storeError('storeInvalid', 'priority'),
        );
        await assert.rejects(
          store.apply({ insertPushes: [push({ state: 'lost' as 'pending' })] }),
          storeError('storeInvalid', 'state'),
        );
        await assert.rejects(
          store.apply({ updatePushes: [{ pushId: 'push-1', seq: 9 } as never] }),
          storeError('storeInvalid'),
        );
        await store.apply({ insertPushes: [push()] });
        await assert.rejects(store.apply({ insertPushes: [push({ pushId: 'push-2' })], events: [] }));
        assert.equal((await store.listPushes({})).length, 1);
        await assert.rejects(
          store.apply({
            insertPushes: [push({ pushId: 'push-5', seq: 5 })],
            updateRuns: [{ taskId: 't', state: 'nope' as 'finished' }],
          }),
          storeError('storeInvalid'),
        );
        assert.equal(await store.lastPushSeq(), 1);
      },
    );

    it(
      'keeps notifications newest first, updates their answer, and finds the ' + 'actions not yet handed over',
      async () => {
        const older = notification();
        const newer = notification({
          notificationId: 'n-2',
          postedAt: T0 + 10,
          threadId: 'com.example.inbox.mail',
          actions: [],
        });
        await store.apply({ insertNotifications: [older, newer] });
        assert.deepEqual(await store.listNotifications({}), [newer, older]);
        assert.deepEqual(await store.getNotification('n-1'), older);
        assert.equal(await store.getNotification('n-404'), undefined);
        assert.deepEqual(await store.listNotifications({ actionUnhanded: true }), []);
        await store.apply({
          updateNotifications: [{ notificationId: 'n-1', state: 'actioned', actionId: 'open', actedAt: T0 + 20 }],
        });
        assert.deepEqual(
          (await store.listNotifications({ actionUnhanded: true })).map((n) => n.notificationId),
          ['n-1'],
        );
        await store.apply({
          updateNotifications: [{ notificationId: 'n-1', handedAt: T0 + 21, desktop: 'freedesktop' }],
        });
        assert.deepEqual(await store.listNotifications({ actionUnhanded: true }), []);
        assert.deepEqual(await store.getNotification('n-1'), {
          ...older,
          state: 'actioned',
          actionId: 'open',
          actedAt: T0 + 20,
          handedAt: T0 + 21,
          desktop: 'freedesktop',
        });
      },
    );

    it('refuses a malformed notification or a change to what it said', async () => {
      await assert.rejects(
        store.apply({ insertNotifications: [notification({ actions: [{ id: '', title: 'x' }] })] }),
        storeError('storeInvalid'),
      );
      await assert.rejects(
        store.apply({ updateNotifications: [{ notificationId: 'n-1', title: 'changed' } as never] }),
        storeError('storeInvalid'),
      );
      await assert.rejects(store.listNotifications({ limit: -1 }), storeError('storeInvalid'));
      assert.deepEqual(await store.listNotifications({}), []);
    });
  });
}
