/** `bgtasks run`'s choice of kind (issue 20): never a task of another kind than the identifier's. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseRunKind, type RunNowFacts } from '../../src/daemon/scheduler/runNowKind.js';

const BOTH = ['fetch', 'processing'];
const facts = (fields: Partial<RunNowFacts>): RunNowFacts => ({
  identifier: 'com.example.app.job',
  pendingKind: null,
  requestedKind: undefined,
  lastKind: null,
  backgroundModes: BOTH,
  ...fields,
});

describe('chooseRunKind', () => {
  it('runs the pending request as it is, whatever its kind, unless --kind disagrees', () => {
    for (const kind of ['refresh', 'processing', 'continued'] as const)
      assert.equal(chooseRunKind(facts({ pendingKind: kind, lastKind: 'refresh' })), null);
    assert.equal(chooseRunKind(facts({ pendingKind: 'processing', requestedKind: 'processing' })), null);
    assert.throws(() => chooseRunKind(facts({ pendingKind: 'continued', requestedKind: 'processing' })), {
      code: 'wrongKind',
      field: 'kind',
      message: /its pending request is continued/,
    });
  });

  it('with nothing pending: the kind it last ran as; --kind must agree', () => {
    assert.equal(chooseRunKind(facts({ lastKind: 'processing' })), 'processing');
    assert.equal(chooseRunKind(facts({ lastKind: 'refresh', requestedKind: 'refresh' })), 'refresh');
    assert.throws(() => chooseRunKind(facts({ lastKind: 'processing', requestedKind: 'refresh' })), {
      code: 'wrongKind',
      message: /it last ran as processing/,
    });
  });

  it("never makes a continued task: it needs its app's request", () => {
    assert.throws(() => chooseRunKind(facts({ lastKind: 'continued' })), {
      code: 'notPending',
      message: /continued processing task and none is pending/,
    });
    assert.throws(() => chooseRunKind(facts({ requestedKind: 'continued' })), { code: 'notPending' });
  });

  it('an identifier that never ran: --kind, or the only kind the app may run', () => {
    assert.equal(chooseRunKind(facts({ requestedKind: 'processing' })), 'processing');
    assert.equal(chooseRunKind(facts({ backgroundModes: ['fetch'] })), 'refresh');
    assert.equal(chooseRunKind(facts({ backgroundModes: ['processing', 'remote-notification'] })), 'processing');
    assert.throws(() => chooseRunKind(facts({})), {
      code: 'notPending',
      field: 'kind',
      message: /give --kind refresh or --kind processing/,
    });
  });
});
