import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { openStore } from '../../src/store/index.js';
import { mergeBatches } from '../../src/store/mergeBatches.js';
import type { Store, StoreBatch } from '../../src/store/store.js';
import { inline, literal } from '../../src/store/postgres/sql/script.js';
import { event, request, run } from './store.contract.js';

/** Everything a batch can change that these batches touch, as the store lists it. */
async function state(store: Store): Promise<unknown> {
  const events = (await store.listEvents()).map(({ seq: _seq, ...rest }) => rest);
  return {
    requests: await store.listRequests(),
    runs: await store.listRuns(),
    events,
    settings: await store.getSetting('k'),
  };
}

// Small id spaces, so batches collide: the same identifier put and deleted, a run inserted then updated.
const identifier = fc.constantFrom('a.x', 'a.y', 'a.z').map((name) => `com.example.feeds.export.${name}`);
const part = fc.oneof(
  fc.record({
    putRequests: fc.array(
      fc.tuple(identifier, fc.nat(5)).map(([id, n]) => request({ identifier: id, requestId: `r-${id}-${n}` })),
      { minLength: 1, maxLength: 2 },
    ),
  }),
  fc.record({
    deleteRequests: fc.array(
      fc
        .tuple(identifier, fc.boolean())
        .map(([id, whole]) =>
          whole ? { appId: 'com.example.feeds' } : { appId: 'com.example.feeds', identifier: id },
        ),
      { minLength: 1, maxLength: 2 },
    ),
  }),
  fc.record({ insertRuns: fc.nat(30).map((n) => [run({ taskId: `t-${n}` })]) }),
  fc.record({
    updateRuns: fc
      .nat(30)
      .map((n) => [{ taskId: `t-${n}`, state: 'finished' as const, outcome: 'success' as const, completedAt: n }]),
  }),
  fc.record({ events: fc.nat(9).map((n) => [event({ reason: `e${n}` })]) }),
  fc.record({ settings: fc.option(fc.nat(9), { nil: null }).map((value) => ({ k: value })) }),
);
const batch = fc.array(part, { minLength: 1, maxLength: 3 }).map((parts) => Object.assign({}, ...parts) as StoreBatch);

describe('mergeBatches', () => {
  it('folds a dispatch/finish stream into one batch per run of compatible batches', () => {
    const dispatch = (n: number): StoreBatch => ({
      deleteRequests: [{ appId: 'a', identifier: `i${n}`, requestId: `r${n}` }],
      insertRuns: [run({ taskId: `t${n}` })],
      events: [event()],
    });
    const finish = (n: number): StoreBatch => ({
      updateRuns: [{ taskId: `t${n}`, state: 'finished' }],
      events: [event()],
    });
    const merged = mergeBatches([dispatch(1), dispatch(2), finish(0), dispatch(3), finish(1), dispatch(4)]);
    assert.equal(merged.length, 1);
    assert.deepEqual(
      merged[0]!.insertRuns!.map((r) => r.taskId),
      ['t1', 't2', 't3', 't4'],
    );
    assert.equal(merged[0]!.events!.length, 6);
    // An update of a run a later batch inserts must stay before that insert.
    assert.equal(mergeBatches([finish(5), dispatch(5)]).length, 2);
    // A part kind this code does not know is never merged.
    assert.equal(mergeBatches([dispatch(1), { ...dispatch(2), futurePart: [1] } as StoreBatch]).length, 2);
  });

  it('leaves the store as applying the batches one by one does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 8 }), async (batches) => {
        await using one = openStore(':memory:');
        await using merged = openStore(':memory:');
        await one.migrate();
        await merged.migrate();
        const outcome = async (store: Store, list: readonly StoreBatch[]): Promise<string> => {
          for (const each of list) {
            try {
              await store.apply(each);
            } catch (error) {
              return (error as { code?: string }).code ?? 'error'; // a duplicate taskId fails both ways
            }
          }
          return 'ok';
        };
        const expected = await outcome(one, batches);
        if (expected !== 'ok') return; // merged batches fail as a whole; nothing to compare
        assert.equal(await outcome(merged, mergeBatches(batches)), 'ok');
        assert.deepEqual(await state(merged), await state(one));
      }),
      { numRuns: 150 },
    );
  });
});

describe('scripted statements (the PostgreSQL store sends a batch as one multi-statement query)', () => {
  it('writes parameters as literals PostgreSQL reads back as the same values', () => {
    assert.equal(literal(null), 'NULL');
    assert.equal(literal(42), "'42'");
    assert.equal(literal(true), 'true');
    assert.equal(literal("it's"), "'it''s'");
    assert.equal(literal('back\\slash'), " E'back\\\\slash'");
    assert.equal(
      literal(['a', 'b"c', null]),
      String.raw` E'{"a","b\\"c",NULL}'`,
      'array syntax escapes, then the literal escapes those',
    );
    assert.throws(() => literal(Number.NaN), /finite/);
    assert.throws(() => literal({}), /string, number, boolean, null or array/);
    assert.equal(
      inline({ sql: 'SELECT $1, $2::text[], $10', params: ['x', ['y'], 0, 0, 0, 0, 0, 0, 0, 'ten'] }),
      `SELECT 'x', '{"y"}'::text[], 'ten'`,
    );
    assert.throws(() => inline({ sql: 'SELECT $2', params: [1] }), /uses \$2 but has 1/);
  });
});
