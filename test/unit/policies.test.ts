import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONDITIONS, type Conditions } from '../../src/engine/conditions.js';
import { evaluate, evaluateAll } from '../../src/engine/evaluate.js';
import { earliestStart, explainPending } from '../../src/engine/explain.js';
import { compileSchedulingOptions, type SchedulingOptions } from '../../src/engine/options.js';
import { DEFAULT_POLICIES } from '../../src/engine/policies/index.js';
import type { AppSchedulingState, PolicyContext } from '../../src/engine/policy.js';
import type { TaskRequest } from '../../src/engine/types.js';

const NOW = Date.UTC(2026, 0, 1, 12);

const unlimited = { used: 0, limit: Number.POSITIVE_INFINITY, freesAt: null };

interface ContextFields {
  request?: Partial<TaskRequest>;
  conditions?: Partial<Conditions>;
  app?: Partial<AppSchedulingState>;
  systemRunningCount?: number;
  backgroundProcessCount?: number;
  backgroundAppRefresh?: boolean;
  options?: Partial<SchedulingOptions>;
}

function context(fields: ContextFields = {}): PolicyContext {
  return {
    now: NOW,
    options: compileSchedulingOptions(fields.options),
    systemRunningCount: fields.systemRunningCount ?? 0,
    conditions: { ...DEFAULT_CONDITIONS, ...fields.conditions },
    request: {
      requestId: 'r1',
      appId: 'com.example.app',
      identifier: 'com.example.app.job',
      kind: 'processing',
      earliestBeginAt: null,
      requiresExternalPower: false,
      requiresNetworkConnectivity: false,
      submittedAt: NOW,
      requiresUnmeteredNetwork: false,
      recurrence: null,
      retry: null,
      attempt: 1,
      continued: null,
      ...fields.request,
    },
    app: {
      enabled: true,
      runningCount: 0,
      isRunning: () => false,
      launchBackoffUntil: null,
      connected: false,
      inForeground: false,
      launching: false,
      forceQuitAt: null,
      lastOpenedAt: NOW,
      throttledUntil: null,
      launches: unlimited,
      backgroundSeconds: unlimited,
      backgroundCpuMs: unlimited,
      ...fields.app,
    },
    backgroundProcessCount: fields.backgroundProcessCount ?? 0,
    backgroundAppRefresh: fields.backgroundAppRefresh ?? true,
    continuedRunningCount: 0,
    continuedPosition: null,
    supportedResources: ['cpu'],
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
    const ctx = context({
      request: { requiresExternalPower: true, requiresNetworkConnectivity: true, earliestBeginAt: NOW + 1000 },
      conditions: { power: 'battery', network: 'offline' },
    });
    const blockers = evaluateAll(DEFAULT_POLICIES, ctx).filter((verdict) => verdict.outcome !== 'allow');
    assert.deepEqual(
      blockers.map((verdict) => ('reason' in verdict ? verdict.reason : null)),
      ['earliestBeginDate', 'requiresExternalPower', 'requiresNetworkConnectivity'],
    );
    const explanation = explainPending(DEFAULT_POLICIES, ctx, false);
    assert.equal(explanation.state, 'pending');
    assert.match(explanation.summary, /requiresExternalPower/);
    assert.match(explanation.summary, /requiresNetworkConnectivity/);
  });

  it('hold every kind on a critical battery, processing on a low one, and nothing on AC', () => {
    const processing = { conditions: { power: 'battery' as const, batteryLevel: 15 } };
    assert.equal(reason(context(processing)), 'lowBattery');
    assert.equal(reason(context({ ...processing, request: { kind: 'refresh' } })), null);
    assert.equal(
      reason(context({ conditions: { power: 'battery', batteryLevel: 10 }, request: { kind: 'refresh' } })),
      'criticalBattery',
    );
    assert.equal(reason(context({ conditions: { power: 'ac', batteryLevel: 5 } })), null);
    assert.equal(
      reason(context({ ...processing, options: { profile: 'server' } })),
      null,
      'the server profile has no battery heuristics',
    );
  });

  it('hold in Low Power Mode unless the profile turns it off', () => {
    assert.equal(reason(context({ conditions: { lowPowerMode: true }, request: { kind: 'refresh' } })), 'lowPowerMode');
    assert.equal(reason(context({ conditions: { lowPowerMode: true }, options: { lowPowerModeDefers: false } })), null);
  });

  it('hold requiresUnmeteredNetwork on a metered network or offline', () => {
    const request = { requiresUnmeteredNetwork: true };
    assert.equal(reason(context({ request, conditions: { networkCost: 'metered' } })), 'requiresUnmeteredNetwork');
    assert.equal(reason(context({ request, conditions: { network: 'offline' } })), 'requiresNetworkConnectivity');
    assert.equal(reason(context({ request, conditions: { networkCost: 'unknown' } })), null);
  });

  it('hold processing while the user is active or was active recently; a seatless machine is idle', () => {
    assert.equal(reason(context({ conditions: { userActivity: 'active' } })), 'userActive');
    const recent = evaluate(
      DEFAULT_POLICIES,
      context({ conditions: { userActivity: 'idle', idleSince: NOW - 60_000 } }),
    ).blocking;
    assert.equal(recent?.reason, 'userRecentlyActive');
    assert.equal(recent?.until, NOW + 4 * 60_000);
    assert.equal(reason(context({ conditions: { userActivity: 'idle', idleSince: NOW - 5 * 60_000 } })), null);
    assert.equal(reason(context({ conditions: { userActivity: 'noSeat' } })), null);
    assert.equal(reason(context({ conditions: { userActivity: 'active' }, request: { kind: 'refresh' } })), null);
  });

  it('hold processing under pressure or heat, and everything when critical', () => {
    assert.equal(reason(context({ conditions: { cpuPressure: 'serious' } })), 'cpuPressure');
    assert.equal(reason(context({ conditions: { ioPressure: 'fair' } })), null);
    assert.equal(reason(context({ conditions: { cpuPressure: 'serious' }, request: { kind: 'refresh' } })), null);
    assert.equal(
      reason(context({ conditions: { memoryPressure: 'critical' }, request: { kind: 'refresh' } })),
      'memoryPressure',
    );
    assert.equal(reason(context({ conditions: { thermalState: 'serious' } })), 'thermalState');
    assert.equal(reason(context({ conditions: { thermalState: 'unknown' } })), null);
  });

  it('deny after a force-quit, for an app unused for a week, and with Background App Refresh off', () => {
    const quit = evaluate(DEFAULT_POLICIES, context({ app: { forceQuitAt: NOW - 1 } })).blocking;
    assert.equal(quit?.outcome, 'deny');
    assert.equal(quit?.reason, 'forceQuit');
    assert.equal(
      reason(context({ app: { forceQuitAt: NOW - 1, connected: true } })),
      null,
      'a running app gets its work',
    );
    assert.equal(reason(context({ app: { lastOpenedAt: NOW - 8 * 86_400_000 } })), 'appNotRecentlyUsed');
    assert.equal(reason(context({ app: { lastOpenedAt: NOW - 8 * 86_400_000 }, request: { kind: 'refresh' } })), null);
    assert.equal(
      reason(context({ app: { lastOpenedAt: NOW - 8 * 86_400_000 }, options: { profile: 'server' } })),
      null,
    );
    assert.equal(reason(context({ backgroundAppRefresh: false })), 'backgroundAppRefreshOff');
  });

  it('hold a throttled app until the throttle ends, and a spent budget until it frees up', () => {
    const throttled = evaluate(DEFAULT_POLICIES, context({ app: { throttledUntil: NOW + 1000 } })).blocking;
    assert.equal(throttled?.reason, 'throttled');
    assert.equal(throttled?.until, NOW + 1000);
    assert.equal(reason(context({ app: { throttledUntil: NOW + 1000, inForeground: true } })), null);
    const spent = { used: 5, limit: 5, freesAt: NOW + 3000 };
    assert.equal(reason(context({ app: { launches: spent } })), 'launchBudgetExhausted');
    assert.equal(reason(context({ app: { launches: spent, connected: true } })), null, 'no launch needed');
    assert.equal(
      reason(context({ app: { backgroundSeconds: spent, connected: true } })),
      'backgroundTimeBudgetExhausted',
    );
    assert.equal(reason(context({ app: { backgroundCpuMs: spent, inForeground: true } })), null);
    assert.equal(reason(context({ backgroundProcessCount: 4 })), 'backgroundProcessLimit');
    assert.equal(reason(context({ backgroundProcessCount: 4, app: { connected: true } })), null);
  });

  it('let a periodic refresh start up to its tolerance early only when its app is up anyway', () => {
    const request = {
      kind: 'refresh' as const,
      earliestBeginAt: NOW + 1000,
      recurrence: { intervalMs: 60_000, toleranceMs: 5000, anchorAt: NOW + 1000, period: 0 },
    };
    assert.equal(reason(context({ request })), 'earliestBeginDate');
    assert.equal(reason(context({ request, app: { connected: true } })), null);
    assert.equal(
      reason(context({ request: { ...request, earliestBeginAt: NOW + 6000 }, app: { connected: true } })),
      'earliestBeginDate',
    );
  });

  it('tell the earliest start and what would unblock it', () => {
    const timeOnly = explainPending(
      DEFAULT_POLICIES,
      context({ request: { earliestBeginAt: NOW + 1000 }, app: { throttledUntil: NOW + 5000 } }),
      false,
    );
    assert.equal(timeOnly.state === 'pending' && timeOnly.earliestAt, NOW + 5000);
    const event = explainPending(
      DEFAULT_POLICIES,
      context({ request: { requiresExternalPower: true }, conditions: { power: 'battery' } }),
      false,
    );
    assert.equal(event.state === 'pending' && event.earliestAt, null);
    assert.deepEqual(event.state === 'pending' && event.waitingFor, ['the device connects to external power']);
    assert.equal(event.state === 'pending' && event.verdicts[0]?.outcome, 'defer', 'blockers first');
  });

  describe('the earliest start when several things block: the latest time blocker and every event', () => {
    const TOMORROW_3AM = Date.UTC(2026, 0, 2, 3);
    const iso = (ms: number): string => new Date(ms).toISOString();
    // Each time-based blocker alone, both, and none; with each condition alone, both, and none.
    const timeBlockers: Record<string, { fields: ContextFields; latest: number | null }> = {
      none: { fields: {}, latest: null },
      earliestBeginDate: { fields: { request: { earliestBeginAt: TOMORROW_3AM } }, latest: TOMORROW_3AM },
      throttle: { fields: { app: { throttledUntil: NOW + 5000 } }, latest: NOW + 5000 },
      both: {
        fields: { request: { earliestBeginAt: TOMORROW_3AM }, app: { throttledUntil: NOW + 5000 } },
        latest: TOMORROW_3AM,
      },
    };
    const conditionBlockers: Record<string, { fields: ContextFields; events: string[] }> = {
      none: { fields: {}, events: [] },
      battery: {
        fields: { request: { requiresExternalPower: true }, conditions: { power: 'battery' } },
        events: ['the device connects to external power'],
      },
      offline: {
        fields: { request: { requiresNetworkConnectivity: true }, conditions: { network: 'offline' } },
        events: ['the device connects to a network'],
      },
      both: {
        fields: {
          request: { requiresExternalPower: true, requiresNetworkConnectivity: true },
          conditions: { power: 'battery', network: 'offline' },
        },
        events: ['the device connects to external power', 'the device connects to a network'],
      },
    };
    for (const [timeName, timed] of Object.entries(timeBlockers)) {
      for (const [conditionName, condition] of Object.entries(conditionBlockers)) {
        it(`time: ${timeName}; conditions: ${conditionName}`, () => {
          const fields: ContextFields = {
            request: { ...timed.fields.request, ...condition.fields.request },
            conditions: { ...condition.fields.conditions },
            app: { ...timed.fields.app },
          };
          const why = explainPending(DEFAULT_POLICIES, context(fields), false);
          assert.equal(why.state, 'pending');
          if (why.state !== 'pending') return;
          assert.equal(why.notBefore, timed.latest, 'the latest of the time blockers');
          assert.deepEqual([...why.waitingFor].sort(), [...condition.events].sort());
          const eligible = timed.latest === null && condition.events.length === 0;
          assert.equal(why.eligible, eligible);
          assert.equal(why.earliestAt, eligible ? NOW : condition.events.length === 0 ? timed.latest : null);
          if (eligible) return;
          const words = earliestStart(why.notBefore, why.waitingFor, iso);
          if (timed.latest !== null) assert.match(words, new RegExp(`^at ${iso(timed.latest)} at the earliest`), words);
          else assert.match(words, /^once /, words);
          for (const event of condition.events) assert.ok(words.includes(event), `${words} names ${event}`);
          if (timed.latest !== null && condition.events.length > 0) assert.match(words, /, and only once the /);
          assert.ok(why.summary.includes(`It can start ${words}.`), why.summary);
        });
      }
    }
  });
});
