/**
 * What the upgrade tests (`storeUpgrade*.test.ts`) share: the apps and times every release fixture in
 * test/fixtures/stores/ was written with (see its makeRelease*Store.ts), a fresh copy of a fixture for
 * each test, and a daemon started on a copy under conditions that hold every old request back.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Sensors } from '../../src/conditions/sensors.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { AppRecord } from '../../src/engine/types.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { FakeLauncher } from '../support/schedulerHarness.js';

export const FIXTURES = new URL('../fixtures/stores/', import.meta.url);

// Times as offsets, like the generators write them.
/** 2026-01-01T00:00:00Z, the virtual clock's default start. */
export const T0 = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** Later than any test's clock. */
export const LATER = Date.UTC(2030, 0, 1);
export const NEWS = 'com.example.news';
export const PHOTOS = 'com.example.photos';
export const retry = { maxAttempts: 3, backoff: 'exponential', initialDelay: MINUTE, maxDelay: HOUR } as const;

/** The two apps every release fixture installs, as `listApps` returns them. */
export const APPS: AppRecord[] = [
  {
    appId: NEWS,
    dir: '/opt/apps/news',
    launch: ['/usr/bin/node', '/opt/apps/news/main.js'],
    permittedIdentifiers: [`${NEWS}.refresh`, `${NEWS}.cleanup`],
    backgroundModes: ['fetch', 'processing', 'remote-notification'],
    enabled: true,
    credentialHash: '5f2b8c0d1e3a4f6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d',
    installedAt: T0,
  },
  {
    appId: PHOTOS,
    dir: '/opt/apps/photos',
    launch: ['/opt/apps/photos/bin/photos', '--background'],
    permittedIdentifiers: [`${PHOTOS}.export`, `${PHOTOS}.sync`],
    backgroundModes: ['processing'],
    enabled: true,
    credentialHash: '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',
    installedAt: T0 + MINUTE,
  },
];

/** The schema versions of the release fixtures in test/fixtures/stores/ (`release-X.Y.Z-schemaN.sqlite`). */
export function fixtureSchemaVersions(): number[] {
  return readdirSync(FIXTURES)
    .map((name) => /^release-[\d.]+-schema(\d+)\.sqlite$/.exec(name)?.[1])
    .filter((version) => version !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** A fixture is one closed file: a left-over WAL or journal would hold records the file alone lacks. */
export function assertClosedFile(fixture: URL): void {
  assert.equal(existsSync(new URL(`${fixture.href}-wal`)), false);
  assert.equal(existsSync(new URL(`${fixture.href}-journal`)), false);
}

export interface FixtureCopies {
  /** A fresh copy of the fixture, so no test changes the file in the tree or another test's copy. */
  copy(): string;
  /** A path in the suite's temporary directory. */
  path(name: string): string;
}

/** Call inside a `describe`: a temporary directory for the suite's copies of `fixture`, removed after it. */
export function fixtureCopies(fixture: URL): FixtureCopies {
  let dir: string | undefined;
  let copies = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bgt-upgrade-'));
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  const path = (name: string): string => {
    if (dir === undefined) throw new Error('fixtureCopies: used outside a test of its describe');
    return join(dir, name);
  };
  return {
    copy: () => {
      const file = path(`store-${++copies}.sqlite`);
      copyFileSync(fixture, file);
      return file;
    },
    path,
  };
}

const quiet = (): undefined => undefined;
const quietLogger = { info: quiet, warn: quiet, error: quiet, debug: quiet } as never;

export interface UpgradedDaemon extends AsyncDisposable {
  readonly daemon: Daemon;
  readonly clock: VirtualClock;
  readonly launcher: FakeLauncher;
}

/**
 * Starts this release's daemon on `store` at `at`, offline and on battery: every old request waits on a
 * condition, so none is dispatched during the test (a pending push needs none, so it goes out).
 */
export async function startOfflineDaemon(store: string, home: string, at: number): Promise<UpgradedDaemon> {
  const clock = new VirtualClock({ start: at });
  const sensors: Sensors = { read: async () => ({ power: 'battery', network: 'offline' }) };
  const launcher = new FakeLauncher();
  const daemon = await Daemon.start(
    { home, store, httpPort: null },
    { clock, sensors, launcher, logger: quietLogger, cpuMeter: null, desktop: null },
  );
  return { daemon, clock, launcher, [Symbol.asyncDispose]: () => daemon[Symbol.asyncDispose]() };
}

/** The ids of the requests in the daemon's queue, sorted, leaving out its in-memory push deliveries. */
export function queuedRequestIds(daemon: Daemon): string[] {
  return [...daemon.scheduler.queue.all()]
    .map((entry) => entry.request)
    .filter((request) => request.kind !== 'push')
    .map((request) => request.requestId)
    .sort();
}
