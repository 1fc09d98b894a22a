import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreWriter } from '../../src/daemon/storeWriter.js';
import { StoreError, type StoreErrorCode } from '../../src/store/errors.js';
import { openStore } from '../../src/store/index.js';
import type { Store, StoreBatch } from '../../src/store/store.js';
import { VirtualClock, flushMicrotasks } from '../../src/testing/virtualClock.js';
import { APP, NO_EXTRAS, createHarness } from '../support/schedulerHarness.js';

/**
 * A real SQLite store whose `apply` fails, while `fault` is set, as SQLite fails on a full disk (the
 * integration test storageFaults.test.ts fills a real disk; here the time is virtual).
 */
function faultyStore(): { store: Store; setFault(code: StoreErrorCode | null): void; attempts(): number } {
  const real = openStore(':memory:');
  let fault: StoreErrorCode | null = null;
  let attempts = 0;
  const store = new Proxy(real, {
    get(target, property) {
      if (property === 'apply') {
        return (batch: StoreBatch | readonly StoreBatch[]) => {
          attempts++;
          return fault ? Promise.reject(new StoreError(fault, 'database or disk is full')) : target.apply(batch);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, setFault: (code) => (fault = code), attempts: () => attempts };
}

const event = (reason: string) => ({
  events: [
    { at: 1, appId: null, identifier: null, taskId: null, type: 'conditionsChanged' as const, reason, detail: null },
  ],
});

async function settle(writer: StoreWriter): Promise<void> {
  await flushMicrotasks();
  await writer.drain();
}

describe('StoreWriter on a store that cannot be written', () => {
  for (const code of ['storeFull', 'storeReadOnly'] as const)
    it(
      `${code}: fails a caller's write with the fault, keeps its own writes, and ` +
        `commits them in order once the store recovers`,
      async () => {
        const clock = new VirtualClock();
        const { store, setFault, attempts } = faultyStore();
        await store.migrate();
        const writer = new StoreWriter(store, { clock, retryMs: 1_000, maxRetryMs: 4_000 });
        const health: (string | null)[] = [];
        writer.onDidChangeHealth((fault) => health.push(fault?.code ?? null));

        setFault(code);
        const visible = writer.write(event('visible'));
        const kept = writer.retain(event('kept-1'));
        await assert.rejects(visible, { code });
        assert.equal(writer.fault?.code, code);
        assert.deepEqual(health, [code]);
        const before = attempts();
        await assert.rejects(writer.write(event('refused at once')), { code });
        const kept2 = writer.retain(event('kept-2'));
        await settle(writer);
        assert.equal(attempts(), before, 'a degraded writer does not try the store for each write');

        // Retries at 1 s, then 2 s, then 4 s (the cap): each one fails while the disk is full.
        await clock.advanceBy(1_000);
        await settle(writer);
        assert.equal(attempts(), before + 1);
        await clock.advanceBy(2_000);
        await settle(writer);
        assert.equal(attempts(), before + 2);
        setFault(null);
        await clock.advanceBy(4_000);
        await settle(writer);
        await Promise.all([kept, kept2]);
        assert.equal(writer.fault, null);
        assert.deepEqual(health, [code, null]);
        const reasons = (await store.listEvents({ types: ['conditionsChanged'] })).map((row) => row.reason).reverse();
        assert.deepEqual(reasons, ['kept-1', 'kept-2'], 'the kept writes, in order, and none of the refused ones');
        await writer.write(event('after'));
        writer.dispose();
        await store.close();
      },
    );
});

describe('Scheduler while the store cannot be written', () => {
  it('starts no task whose run could not be recorded, and starts it once the store recovers', async () => {
    const { store, setFault } = faultyStore();
    await using h = await createHarness({ store });
    const refresh = (identifier: string, earliestBeginAt: number | null) => ({
      identifier,
      kind: 'refresh' as const,
      earliestBeginAt,
      requiresExternalPower: false,
      requiresNetworkConnectivity: false,
      ...NO_EXTRAS,
    });
    assert.deepEqual(
      await h.scheduler.submit(APP.appId, [refresh('com.example.feeds.refresh', h.clock.now() + 2_000)]),
      [{ ok: true }],
    );
    setFault('storeFull');
    const [refused] = await h.scheduler.submit(APP.appId, [refresh('com.example.feeds.cleanup', null)]);
    assert.equal(refused?.ok, false);
    assert.match(refused.ok ? '' : refused.error.message, /storeFull/);
    await h.clock.advanceBy(2_000);
    await h.settle();
    assert.equal(h.launcher.launches.length, 0, 'due, but its run could not be recorded: no launch');
    assert.equal(h.scheduler.queue.size, 1, 'still pending');
    setFault(null);
    await h.clock.advanceBy(1_000);
    await h.settle();
    assert.equal(h.launcher.launches.length, 1, 'the store recovered: the task starts');
  });
});
