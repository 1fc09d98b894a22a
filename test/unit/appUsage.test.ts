import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppUsage, DAY_MS, RollingLedger } from '../../src/engine/appUsage.js';
import { compileSchedulingOptions } from '../../src/engine/options.js';
import { chooseProfile } from '../../src/engine/profile.js';
import {
  currentPeriod,
  missedPeriods,
  nextPeriodRequest,
  periodStart,
  recurrenceAt,
} from '../../src/engine/recurrence.js';
import { retryDelay } from '../../src/engine/retry.js';
import {
  CONDITION_NAMES,
  DEFAULT_CONDITIONS,
  type ConditionName,
  type ConditionOrigin,
} from '../../src/engine/conditions.js';

const T = Date.UTC(2026, 0, 1);

describe('RollingLedger', () => {
  it('sums charges over the window and says when enough age out', () => {
    const ledger = new RollingLedger(1000);
    ledger.charge('a', T, 2);
    ledger.charge('a', T + 500, 3);
    assert.equal(ledger.total('a', T + 600), 5);
    assert.equal(ledger.freesAt('a', T + 600, 5), T + 1000, 'the first charge leaving is enough');
    assert.equal(ledger.freesAt('a', T + 600, 2), T + 1500, 'both must leave');
    assert.equal(ledger.freesAt('a', T + 600, 6), null, 'not spent');
    assert.equal(ledger.total('a', T + 1000), 3);
    assert.equal(ledger.total('a', T + 1500), 0);
  });
});

describe('AppUsage', () => {
  const options = compileSchedulingOptions({ backgroundLaunchesPerDay: 10, throttleMs: 1000, throttleMaxMs: 3000 });

  it('gives apps the user opens often a bigger budget, at most 3x', () => {
    const usage = new AppUsage();
    assert.equal(usage.summary('a', T, T, options).launches.limit, 10);
    for (let i = 0; i < 7; i++) usage.recordOpen('a', T + i);
    assert.equal(usage.summary('a', T, T + 10, options).launches.limit, 20);
    for (let i = 0; i < 30; i++) usage.recordOpen('a', T + 100 + i);
    assert.equal(usage.summary('a', T, T + 200, options).launches.limit, 30);
    assert.equal(
      usage.summary('a', T, T + 200, compileSchedulingOptions({ profile: 'server' })).launches.limit,
      Infinity,
    );
  });

  it('throttles longer for each offence in a day, capped, and forgets offences after a day', () => {
    const usage = new AppUsage();
    assert.equal(usage.recordOffence('a', T, options), T + 1000);
    assert.equal(usage.recordOffence('a', T + 10, options), T + 10 + 2000);
    assert.equal(usage.recordOffence('a', T + 20, options), T + 20 + 3000, 'capped at throttleMaxMs');
    assert.equal(usage.throttledUntil('a', T + 3020), null, 'forgiven when it ends');
    assert.equal(
      usage.recordOffence('a', T + DAY_MS + 30, options),
      T + DAY_MS + 30 + 1000,
      'old offences no longer count',
    );
  });

  it('ends a force-quit when the user opens the app', () => {
    const usage = new AppUsage();
    usage.recordForceQuit('a', T);
    assert.equal(usage.forceQuitAt('a'), T);
    usage.recordOpen('a', T + 1);
    assert.equal(usage.forceQuitAt('a'), null);
  });
});

describe('recurrence and retry', () => {
  const recurrence = { intervalMs: 1000, toleranceMs: 0, anchorAt: T, period: 2 };

  it('counts periods forward only', () => {
    assert.equal(periodStart(recurrence, 3), T + 3000);
    assert.equal(currentPeriod(recurrence, T + 5500), 5);
    assert.equal(currentPeriod(recurrence, T - 10_000), 2, 'a clock jumped back never goes to an earlier period');
    assert.deepEqual(missedPeriods(recurrence, 5), [2, 3, 4]);
    const request = {
      requestId: 'r',
      appId: 'a',
      identifier: 'a.b',
      kind: 'refresh' as const,
      earliestBeginAt: T + 2000,
      requiresNetworkConnectivity: false,
      requiresExternalPower: false,
      requiresUnmeteredNetwork: false,
      recurrence,
      retry: null,
      attempt: 2,
      continued: null,
      submittedAt: T,
    };
    const next = nextPeriodRequest(request, recurrenceAt(recurrence, T + 5500), 'r2', T + 5500);
    assert.equal(next.earliestBeginAt, T + 6000);
    assert.equal(next.recurrence?.period, 6);
    assert.equal(next.attempt, 1);
  });

  it('backs off exponentially or linearly, capped, with equal jitter', () => {
    const policy = { maxAttempts: 5, backoff: 'exponential' as const, initialDelay: 1000, maxDelay: 5000 };
    assert.deepEqual(
      [1, 2, 3, 4].map((attempt) => retryDelay(policy, attempt, 1)),
      [1000, 2000, 4000, 5000],
    );
    assert.equal(retryDelay(policy, 2, 0), 1000, 'half of the delay is fixed');
    assert.deepEqual(
      [1, 2, 3].map((attempt) => retryDelay({ ...policy, backoff: 'linear' }, attempt, 1)),
      [1000, 2000, 3000],
    );
  });
});

describe('chooseProfile', () => {
  const origins = (origin: ConditionOrigin) =>
    Object.fromEntries(CONDITION_NAMES.map((name) => [name, origin])) as Record<ConditionName, ConditionOrigin>;

  it('picks device for a battery or a seat, server otherwise, trusting only sensors', () => {
    const sensed = (fields: object) => ({
      conditions: { ...DEFAULT_CONDITIONS, ...fields },
      origins: origins('sensor'),
      readAt: T,
    });
    assert.equal(chooseProfile(sensed({ power: 'ac', batteryLevel: 80 })).profile, 'device');
    assert.equal(chooseProfile(sensed({ userActivity: 'idle' })).profile, 'device');
    assert.equal(chooseProfile(sensed({ userActivity: 'noSeat' })).profile, 'server');
    assert.equal(chooseProfile({ ...sensed({ power: 'battery' }), origins: origins('override') }).profile, 'server');
  });
});
