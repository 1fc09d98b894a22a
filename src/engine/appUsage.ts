/**
 * What each app has used of the system, over rolling windows: background launches, background task
 * seconds and CPU time per day (its budgets), the user's opens per week (its usage bonus and the
 * recent-use rule), deadline overruns (its throttle) and force-quits. Pure bookkeeping: every method
 * takes the time, so the daemon and the testing kit drive it with their own clocks.
 */
import type { SchedulingOptions } from './options.js';
import type { BudgetUse } from './policy.js';
import { cappedBackoff } from './backoff.js';

export const DAY_MS = 24 * 60 * 60_000;
export const WEEK_MS = 7 * DAY_MS;

interface Charge {
  readonly at: number;
  readonly amount: number;
}

/** Amounts charged at times, summed over a window that ends now. */
export class RollingLedger {
  readonly #charges = new Map<string, Charge[]>();
  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  charge(key: string, at: number, amount = 1): void {
    let charges = this.#charges.get(key);
    if (!charges) this.#charges.set(key, (charges = []));
    // Charges mostly arrive in time order; keep the list sorted for pruning (a clock jump may break it).
    let index = charges.length;
    while (index > 0 && charges[index - 1]!.at > at) index--;
    charges.splice(index, 0, { at, amount });
  }

  total(key: string, now: number): number {
    let sum = 0;
    for (const charge of this.#live(key, now)) sum += charge.amount;
    return sum;
  }

  count(key: string, now: number): number {
    return this.#live(key, now).length;
  }

  /** When the total drops below `limit` as old charges age out; null if it already is, or never will. */
  freesAt(key: string, now: number, limit: number): number | null {
    const charges = this.#live(key, now);
    let total = charges.reduce((sum, charge) => sum + charge.amount, 0);
    if (total < limit) return null;
    for (const charge of charges) {
      total -= charge.amount;
      if (total < limit) return charge.at + this.#windowMs;
    }
    return null;
  }

  delete(key: string): void {
    this.#charges.delete(key);
  }

  #live(key: string, now: number): Charge[] {
    const charges = this.#charges.get(key);
    if (!charges) return [];
    const from = now - this.#windowMs;
    let drop = 0;
    while (drop < charges.length && charges[drop]!.at <= from) drop++;
    if (drop > 0) charges.splice(0, drop);
    // A charge in the future (the wall clock went back) still counts: it was real use.
    return charges;
  }
}

export interface AppUsageSummary {
  readonly launches: BudgetUse;
  readonly backgroundSeconds: BudgetUse;
  readonly backgroundCpuMs: BudgetUse;
  /** The factor the budgets were multiplied by (1 to 3). */
  readonly usageMultiplier: number;
  readonly opensThisWeek: number;
  readonly lastOpenedAt: number;
  readonly throttledUntil: number | null;
  readonly offencesToday: number;
  readonly forceQuitAt: number | null;
}

/** The usage of every app. */
export class AppUsage {
  readonly #launches = new RollingLedger(DAY_MS);
  readonly #seconds = new RollingLedger(DAY_MS);
  readonly #cpuMs = new RollingLedger(DAY_MS);
  readonly #opens = new RollingLedger(WEEK_MS);
  readonly #offences = new RollingLedger(DAY_MS);
  readonly #throttledUntil = new Map<string, number>();
  readonly #forceQuitAt = new Map<string, number>();
  readonly #lastOpenedAt = new Map<string, number>();

  recordLaunch(appId: string, at: number): void {
    this.#launches.charge(appId, at);
  }

  /** Charges a finished background run: its duration and its CPU time. */
  recordRun(appId: string, at: number, seconds: number, cpuMs: number | null): void {
    if (seconds > 0) this.#seconds.charge(appId, at, seconds);
    if (cpuMs !== null && cpuMs > 0) this.#cpuMs.charge(appId, at, cpuMs);
  }

  /** The user opened the app: it counts for the usage bonus, and ends a force-quit. */
  recordOpen(appId: string, at: number): void {
    this.#opens.charge(appId, at);
    this.#lastOpenedAt.set(appId, Math.max(at, this.#lastOpenedAt.get(appId) ?? 0));
    this.#forceQuitAt.delete(appId);
  }

  recordForceQuit(appId: string, at: number): void {
    this.#forceQuitAt.set(appId, at);
  }

  /** An overrun: throttles the app, longer for each offence in the last day. Returns the end of the throttle. */
  recordOffence(appId: string, at: number, options: Pick<SchedulingOptions, 'throttleMs' | 'throttleMaxMs'>): number {
    this.#offences.charge(appId, at);
    const offences = this.#offences.count(appId, at);
    const until = at + cappedBackoff(options.throttleMs, options.throttleMaxMs, offences - 1);
    this.restoreThrottle(appId, until);
    return until;
  }

  /** Restores an offence and its throttle, recorded before a restart. */
  restoreOffence(appId: string, at: number, until: number): void {
    this.#offences.charge(appId, at);
    this.restoreThrottle(appId, until);
  }

  restoreThrottle(appId: string, until: number): void {
    this.#throttledUntil.set(appId, Math.max(until, this.#throttledUntil.get(appId) ?? 0));
  }

  forget(appId: string): void {
    for (const ledger of [this.#launches, this.#seconds, this.#cpuMs, this.#opens, this.#offences])
      ledger.delete(appId);
    this.#throttledUntil.delete(appId);
    this.#forceQuitAt.delete(appId);
    this.#lastOpenedAt.delete(appId);
  }

  forceQuitAt(appId: string): number | null {
    return this.#forceQuitAt.get(appId) ?? null;
  }

  throttledUntil(appId: string, now: number): number | null {
    const until = this.#throttledUntil.get(appId);
    return until !== undefined && until > now ? until : null;
  }

  lastOpenedAt(appId: string, installedAt: number): number {
    return Math.max(installedAt, this.#lastOpenedAt.get(appId) ?? 0);
  }

  /** 1 + opens in the last week / 7, at most 3: an app opened daily gets twice the budget. */
  usageMultiplier(appId: string, now: number, options: Pick<SchedulingOptions, 'usageBonus'>): number {
    if (!options.usageBonus) return 1;
    return Math.min(3, 1 + this.#opens.count(appId, now) / 7);
  }

  summary(appId: string, installedAt: number, now: number, options: SchedulingOptions): AppUsageSummary {
    const multiplier = this.usageMultiplier(appId, now, options);
    const budget = (ledger: RollingLedger, perDay: number, scale: number): BudgetUse => {
      const limit = perDay === 0 ? Number.POSITIVE_INFINITY : Math.floor(perDay * scale * multiplier);
      return { used: ledger.total(appId, now), limit, freesAt: ledger.freesAt(appId, now, limit) };
    };
    return {
      launches: budget(this.#launches, options.backgroundLaunchesPerDay, 1),
      backgroundSeconds: budget(this.#seconds, options.backgroundSecondsPerDay, 1),
      backgroundCpuMs: budget(this.#cpuMs, options.backgroundCpuSecondsPerDay, 1000),
      usageMultiplier: multiplier,
      opensThisWeek: this.#opens.count(appId, now),
      lastOpenedAt: this.lastOpenedAt(appId, installedAt),
      throttledUntil: this.throttledUntil(appId, now),
      offencesToday: this.#offences.count(appId, now),
      forceQuitAt: this.forceQuitAt(appId),
    };
  }
}
