/**
 * The pure rules of workflows (docs/workflows.md): where a prerequisite stands, what a dependent does,
 * what a failure takes down, what `existing` does, and what a payload may be.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideDependencies, dependentsToCancel, prerequisiteState } from '../../src/engine/dependencies.js';
import { decideExistingWork } from '../../src/engine/existingWork.js';
import { dependenciesPolicy } from '../../src/engine/policies/dependencies.js';
import type { PolicyContext } from '../../src/engine/policy.js';
import { MAX_PAYLOAD_BYTES, payloadProblem, utf8Length } from '../../src/protocol/payload.js';

describe('prerequisiteState', () => {
  it('pending and running come first; then the last run decides; nothing known is unknown', () => {
    assert.equal(prerequisiteState(true, false, { outcome: 'failure', taskId: 't' }), 'pending', 'a retry is pending');
    assert.equal(prerequisiteState(false, true, undefined), 'running');
    assert.equal(prerequisiteState(false, false, undefined), 'unknown');
    assert.equal(prerequisiteState(false, false, { outcome: null, taskId: null }), 'unknown');
    assert.equal(prerequisiteState(false, false, { outcome: 'success', taskId: 't' }), 'succeeded');
    for (const outcome of [
      'failure',
      'expired',
      'terminatedAfterExpiration',
      'noHandler',
      'launchFailed',
      'appExited',
    ] as const) {
      assert.equal(prerequisiteState(false, false, { outcome, taskId: 't' }), 'failed', outcome);
    }
    assert.equal(prerequisiteState(false, false, { outcome: 'cancelled', taskId: null }), 'cancelled');
  });
});

describe('decideDependencies (fan-in)', () => {
  it(
    'is ready only when every prerequisite succeeded, waits while any is not ' + 'done, cancels on the first failure',
    () => {
      assert.equal(
        decideDependencies([
          { identifier: 'a', state: 'succeeded' },
          { identifier: 'b', state: 'succeeded' },
        ]).decision,
        'ready',
      );
      const waiting = decideDependencies([
        { identifier: 'a', state: 'succeeded' },
        { identifier: 'b', state: 'running' },
        { identifier: 'c', state: 'unknown' },
      ]);
      assert.deepEqual(
        [waiting.decision, waiting.prerequisites.map((status) => status.identifier)],
        ['wait', ['b', 'c']],
      );
      const cancel = decideDependencies([
        { identifier: 'a', state: 'pending' },
        { identifier: 'b', state: 'cancelled' },
      ]);
      assert.deepEqual([cancel.decision, cancel.prerequisites.map((status) => status.identifier)], ['cancel', ['b']]);
    },
  );

  it('is what the dependencies policy says, with its reason codes', () => {
    const context = (states: Record<string, 'pending' | 'succeeded' | 'failed'>) =>
      ({
        request: { dependsOn: Object.keys(states) },
        prerequisites: () =>
          Object.entries(states).map(([identifier, state]) => ({
            identifier,
            state,
            outcome: state === 'failed' ? ('failure' as const) : null,
          })),
      }) as unknown as PolicyContext;
    assert.equal(dependenciesPolicy.evaluate(context({ a: 'succeeded' })).outcome, 'allow');
    const waits = dependenciesPolicy.evaluate(context({ a: 'succeeded', b: 'pending' }));
    assert.ok(
      waits.outcome === 'defer' &&
        waits.reason === 'waitingForPrerequisites' &&
        waits.message === 'waits for b (pending)',
      JSON.stringify(waits),
    );
    const fails = dependenciesPolicy.evaluate(context({ a: 'failed' }));
    assert.ok(
      fails.outcome === 'deny' && fails.reason === 'prerequisiteFailed' && /a \(failed: failure\)/.test(fails.message),
      JSON.stringify(fails),
    );
  });
});

describe('dependentsToCancel', () => {
  it('takes down the chain from the failed link, transitively, naming what took each down, and leaves the rest', () => {
    const pending = [
      { identifier: 'convert', dependsOn: ['export'] },
      { identifier: 'upload', dependsOn: ['convert', 'scan'] },
      { identifier: 'notify', dependsOn: ['upload'] },
      { identifier: 'other', dependsOn: ['scan'] },
      { identifier: 'again', dependsOn: ['again'] },
    ];
    assert.deepEqual(
      [...dependentsToCancel(['export'], pending)],
      [
        ['convert', 'export'],
        ['upload', 'convert'],
        ['notify', 'upload'],
      ],
    );
    assert.deepEqual(
      [...dependentsToCancel(['again'], pending)],
      [],
      "an 'append' on its own identifier is no dependent of itself",
    );
  });
});

describe('decideExistingWork', () => {
  it('follows the table of docs/workflows.md', () => {
    assert.deepEqual(decideExistingWork(undefined, 'x', true, false), { action: 'submit', afterRunning: false });
    assert.deepEqual(decideExistingWork('replace', 'x', true, true), { action: 'submit', afterRunning: false });
    assert.deepEqual(decideExistingWork('keep', 'x', false, false), { action: 'submit', afterRunning: false });
    assert.deepEqual(decideExistingWork('keep', 'x', true, false), { action: 'keep' });
    assert.deepEqual(decideExistingWork('keep', 'x', false, true), { action: 'keep' });
    assert.deepEqual(decideExistingWork('append', 'x', false, false), { action: 'submit', afterRunning: false });
    assert.deepEqual(decideExistingWork('append', 'x', false, true), { action: 'submit', afterRunning: true });
    const refused = decideExistingWork('append', 'x', true, true);
    assert.ok(
      refused.action === 'refuse' && refused.fault.code === 'invalidRequest' && refused.fault.field === 'existing',
    );
  });
});

describe('payloads', () => {
  it('measure UTF-8 bytes as JSON and take only plain JSON within the limit', () => {
    assert.equal(utf8Length('aé€😀'), 1 + 2 + 3 + 4);
    assert.equal(payloadProblem({ a: [1, 'two', null, true] }), null);
    assert.equal(payloadProblem('x'.repeat(MAX_PAYLOAD_BYTES - 2)), null, 'exactly the limit with its quotes');
    assert.match(payloadProblem('x'.repeat(MAX_PAYLOAD_BYTES - 1)) ?? '', /16385 bytes as JSON; at most 16384/);
    assert.match(payloadProblem(undefined) ?? '', /not JSON/);
    assert.match(payloadProblem(Number.NaN) ?? '', /not plain JSON/);
    assert.match(payloadProblem(new Date(0)) ?? '', /not plain JSON/);
    assert.match(payloadProblem(10n) ?? '', /not JSON/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.match(payloadProblem(cycle) ?? '', /not JSON/);
  });
});
