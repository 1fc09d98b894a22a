import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONDITIONS, type Conditions } from '../../src/engine/conditions.js';
import { evaluate, evaluateAll } from '../../src/engine/evaluate.js';
import { explainPending } from '../../src/engine/explain.js';
import { defaultSchedulingOptions } from '../../src/engine/options.js';
import { DEFAULT_POLICIES } from '../../src/engine/policies/index.js';
import type { AppSchedulingState, PolicyContext } from '../../src/engine/policy.js';
import type { TaskRequest } from '../../src/engine/types.js';

const NOW = Date.UTC(2026, 0, 1, 12);

function context(fields: { request?: Partial<TaskRequest>; conditions?: Partial<Conditions>; app?: Partial<AppSchedulingState>; systemRunningCount?: number } = {}): PolicyContext {
  return {
    now: NOW,
    options: defaultSchedulingOptions(),
    systemRunningCount: fields.systemRunningCount ?? 0,
    conditions: { ...DEFAULT_CONDITIONS, ...fields.conditions },
    request: {
      requestId: 'r1', appId: 'com.example.app', identifier: 'com.example.app.job', kind: 'processing',
      earliestBeginAt: null, requiresExternalPower: false, requiresNetworkConnectivity: false, submittedAt: NOW,
      ...fields.request,
    },
    app: { enabled: true, runningCount: 0, isRunning: () => false, launchBackoffUntil: null, connected: false, ...fields.app },
  };
}

function reason(ctx: PolicyContext): string | null {
  return evaluate(DEFAULT_POLICIES, ctx).blocking?.reason ?? null;
}

describe('policies', () => {
  it('allow a plain request now', () => {
    assert.equal(evaluate(DEFAULT_POLICIES, context()).eligible, true);
  });

  it('defer until earliestBeginDate, with the time to look again', () => {
    const verdict = evaluate(DEFAULT_POLICIES, context({ request: { earliestBeginAt: NOW + 5000 } })).blocking;
    assert.equal(verdict?.reason, 'earliestBeginDate');
    assert.equal(verdict?.waitsFor, 'time');
    assert.equal(verdict?.until, NOW + 5000);
    assert.equal(reason(context({ request: { earliestBeginAt: NOW } })), null);
  });

  it('hold requiresExternalPower on battery only (unknown counts as AC)', () => {
    const request = { requiresExternalPower: true };
    assert.equal(reason(context({ request, conditions: { power: 'battery' } })), 'requiresExternalPower');
    assert.equal(reason(context({ request, conditions: { power: 'ac' } })), null);
    assert.equal(reason(context({ request, conditions: { power: 'unknown' } })), null);
    assert.equal(reason(context({ conditions: { power: 'battery' } })), null);
  });

  it('hold requiresNetworkConnectivity while offline only (unknown counts as online)', () => {
    const request = { requiresNetworkConnectivity: true };
    assert.equal(reason(context({ request, conditions: { network: 'offline' } })), 'requiresNetworkConnectivity');
    assert.equal(reason(context({ request, conditions: { network: 'unknown' } })), null);
  });

  it('hold a disabled app, a backed-off launch, a running identifier and full slots', () => {
    assert.equal(reason(context({ app: { enabled: false } })), 'appDisabled');
    assert.equal(reason(context({ app: { launchBackoffUntil: NOW + 1 } })), 'launchBackoff');
    assert.equal(reason(context({ app: { launchBackoffUntil: NOW + 1, connected: true } })), null);
    assert.equal(reason(context({ app: { isRunning: (id) => id === 'com.example.app.job' } })), 'identifierRunning');
    assert.equal(reason(context({ app: { runningCount: 4 } })), 'appConcurrencyLimit');
    assert.equal(reason(context({ systemRunningCount: 16 })), 'systemConcurrencyLimit');
  });

  it('explain every factor, not only the first', () => {
    const ctx = context({ request: { requiresExternalPower: true, requiresNetworkConnectivity: true, earliestBeginAt: NOW + 1000 }, conditions: { power: 'battery', network: 'offline' } });
    const blockers = evaluateAll(DEFAULT_POLICIES, ctx).filter((verdict) => verdict.outcome === 'defer');
    assert.deepEqual(blockers.map((verdict) => verdict.outcome === 'defer' && verdict.reason), ['earliestBeginDate', 'requiresExternalPower', 'requiresNetworkConnectivity']);
    const explanation = explainPending(DEFAULT_POLICIES, ctx, false);
    assert.equal(explanation.state, 'pending');
    assert.match(explanation.summary, /requiresExternalPower/);
    assert.match(explanation.summary, /requiresNetworkConnectivity/);
  });
});
