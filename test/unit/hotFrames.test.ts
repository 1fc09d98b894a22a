/**
 * The hand-written checks of the per-task frames (src/protocol/hotFrames.ts) against the protocol's zod
 * schemas, on generated frames: whatever zod accepts, the fast check accepts with the same result, and
 * the fast check accepts nothing zod refuses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseHotFrame } from '../../src/protocol/hotFrames.js';
import { appMessageSchema } from '../../src/protocol/messages.js';

const text = (max: number) =>
  fc.oneof(fc.string({ maxLength: max + 2 }), fc.constant(''), fc.string({ minLength: max - 1, maxLength: max + 1 }));
const anything = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer(),
  fc.string({ maxLength: 3 }),
  fc.constant({}),
  fc.constant([]),
);

const completion = fc.record(
  {
    taskId: fc.oneof(text(64), anything),
    success: fc.oneof(fc.boolean(), anything),
    reason: fc.oneof(text(64), fc.constant(null), anything),
    error: fc.oneof(text(4096), fc.constant(null), anything),
    result: fc.oneof(fc.constantFrom('newData', 'noData', 'failed', 'other'), fc.constant(null), anything),
    // A task's result (docs/workflows.md): any JSON within 16 KB.
    output: fc.oneof(
      anything,
      fc.jsonValue({ maxDepth: 3 }),
      fc.constant('x'.repeat(16 * 1024)),
      fc.constant({ big: 'é'.repeat(9 * 1024) }),
    ),
    extra: anything,
  },
  { requiredKeys: [] },
);
const validCompletion = fc.record(
  {
    taskId: fc.string({ minLength: 1, maxLength: 64 }),
    success: fc.boolean(),
    reason: fc.option(fc.string({ minLength: 1, maxLength: 64 })),
    error: fc.option(fc.string({ maxLength: 50 })),
    result: fc.option(fc.constantFrom('newData', 'noData', 'failed')),
    output: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: ['taskId', 'success'] },
);

const frames = fc.oneof(
  fc.record({
    t: fc.constant('completed'),
    completions: fc.array(fc.oneof(completion, validCompletion), { maxLength: 4 }),
  }),
  fc.record({ t: fc.constant('completed'), completions: fc.array(validCompletion, { minLength: 1, maxLength: 4 }) }),
  fc.record({ t: fc.constant('started'), taskIds: fc.array(fc.oneof(text(64), anything), { maxLength: 4 }) }),
  fc.record({
    t: fc.constant('started'),
    taskIds: fc.array(fc.string({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record(
    { t: fc.constantFrom('started', 'completed'), taskIds: anything, completions: anything, more: anything },
    { requiredKeys: ['t'] },
  ),
);

describe('per-task frames checked by hand', () => {
  it('accept exactly what the schemas accept, with the same result', () => {
    let accepted = 0;
    fc.assert(
      fc.property(frames, (frame) => {
        // What arrives is parsed JSON: no undefined values, no functions.
        const wire: unknown = JSON.parse(JSON.stringify(frame));
        const fast = parseHotFrame(wire);
        const schema = appMessageSchema.safeParse(wire);
        if (schema.success) {
          accepted++;
          assert.deepEqual(fast, schema.data);
        } else {
          assert.equal(fast, undefined);
        }
      }),
      { numRuns: 5_000 },
    );
    assert.ok(accepted > 500, `the generated frames include valid ones (${accepted})`);
  });

  it('leaves other frames to the schema', () => {
    assert.equal(parseHotFrame({ t: 'submit', id: 1, requests: [] }), undefined);
    assert.equal(parseHotFrame(null), undefined);
    assert.equal(parseHotFrame([]), undefined);
    assert.equal(
      parseHotFrame(JSON.parse('{"t":"completed","completions":[{"taskId":"a","success":true,"__proto__":{"x":1}}]}')),
      undefined,
    );
  });
});
