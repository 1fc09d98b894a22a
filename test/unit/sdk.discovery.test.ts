import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDiscovery, isPermitted, type Manifest } from '../../src/sdk/discovery.js';
import { BGTaskSchedulerError } from '../../src/sdk/errors.js';

const HOME = '/state/bgtasks';
const CREDENTIAL = 'c'.repeat(43);

function fakeFs(files: Record<string, string>): { readFile: (path: string) => string | null; reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readFile: (path) => {
      reads.push(path);
      return files[path] ?? null;
    },
  };
}

function manifestJson(section: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ name: 'app', ...extra, bgtasks: section });
}

function assertUnavailable(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof BGTaskSchedulerError);
    assert.equal(error.code, 'unavailable');
    assert.match(error.message, pattern);
    return true;
  });
}

describe('createDiscovery', () => {
  it('takes the app id from BGTASKS_APP_ID and the credential from the home, trimmed', () => {
    const fs = fakeFs({ [`${HOME}/credentials/com.example.feeds`]: `${CREDENTIAL}\n` });
    const discovery = createDiscovery({
      env: { BGTASKS_HOME: HOME, BGTASKS_APP_ID: 'com.example.feeds' },
      argv1: undefined,
      cwd: '/nowhere',
      readFile: fs.readFile,
    });
    assert.equal(discovery.socketPath(), `${HOME}/run/daemon.sock`);
    const context = discovery.resolve();
    assert.equal(context.appId, 'com.example.feeds');
    assert.equal(context.credential, CREDENTIAL);
    assert.equal(context.socketPath, `${HOME}/run/daemon.sock`);
    assert.equal(context.manifest, null);
  });

  it('finds the nearest package.json with a bgtasks section above the script, skipping ones without', () => {
    const fs = fakeFs({
      '/apps/feeds/dist/package.json': JSON.stringify({ type: 'module' }),
      '/apps/feeds/package.json': manifestJson({
        appId: 'com.example.feeds',
        permittedIdentifiers: ['com.example.feeds.refresh', 'com.example.feeds.export.*', 7],
        backgroundModes: ['fetch', 'teleport'],
      }),
      '/apps/package.json': manifestJson({ appId: 'com.example.outer' }),
      [`${HOME}/credentials/com.example.feeds`]: CREDENTIAL,
    });
    const discovery = createDiscovery({
      env: { BGTASKS_HOME: HOME },
      argv1: '/apps/feeds/dist/main.js',
      cwd: '/elsewhere',
      readFile: fs.readFile,
    });
    const manifest = discovery.manifest();
    assert.deepEqual(manifest, {
      file: '/apps/feeds/package.json',
      appId: 'com.example.feeds',
      permittedIdentifiers: ['com.example.feeds.refresh', 'com.example.feeds.export.*'],
      backgroundModes: ['fetch'],
    });
    assert.equal(discovery.resolve().appId, 'com.example.feeds');
    // The search runs once.
    const reads = fs.reads.filter((path) => path.endsWith('package.json')).length;
    discovery.manifest();
    discovery.resolve();
    assert.equal(fs.reads.filter((path) => path.endsWith('package.json')).length, reads);
  });

  it('falls back to the working directory when nothing is found above the script', () => {
    const fs = fakeFs({
      '/work/app/package.json': manifestJson({ appId: 'com.example.cwd', permittedIdentifiers: [] }),
      [`${HOME}/credentials/com.example.cwd`]: CREDENTIAL,
    });
    const discovery = createDiscovery({
      env: { BGTASKS_HOME: HOME },
      argv1: '/usr/lib/node_modules/tool/bin/cli.js',
      cwd: '/work/app/src',
      readFile: fs.readFile,
    });
    assert.equal(discovery.manifest()?.file, '/work/app/package.json');
    assert.equal(discovery.resolve().appId, 'com.example.cwd');
  });

  it('ignores a package.json that names another app than BGTASKS_APP_ID', () => {
    const fs = fakeFs({
      '/apps/other/package.json': manifestJson({ appId: 'com.example.other', permittedIdentifiers: [] }),
      [`${HOME}/credentials/com.example.feeds`]: CREDENTIAL,
    });
    const discovery = createDiscovery({
      env: { BGTASKS_HOME: HOME, BGTASKS_APP_ID: 'com.example.feeds' },
      argv1: '/apps/other/main.js',
      cwd: '/',
      readFile: fs.readFile,
    });
    assert.equal(discovery.manifest(), null);
    assert.equal(discovery.resolve().appId, 'com.example.feeds');
  });

  it('explains a missing manifest at resolve time, never when asked for the manifest', () => {
    const discovery = createDiscovery({
      env: { BGTASKS_HOME: HOME },
      argv1: '/apps/x/main.js',
      cwd: '/apps/x',
      readFile: () => null,
    });
    assert.equal(discovery.manifest(), null);
    assertUnavailable(() => discovery.resolve(), /no package\.json with a "bgtasks" section.*"appId".*bgtasks install/);
  });

  it('explains a manifest without an app id', () => {
    const fs = fakeFs({ '/apps/x/package.json': manifestJson({ permittedIdentifiers: ['com.example.x.a'] }) });
    const discovery = createDiscovery({
      env: { BGTASKS_HOME: HOME },
      argv1: '/apps/x/main.js',
      cwd: '/',
      readFile: fs.readFile,
    });
    assertUnavailable(() => discovery.resolve(), /has no "appId"/);
  });

  it('says the app is not installed when the credential file is missing, and how to install it', () => {
    const fs = fakeFs({ '/apps/x/package.json': manifestJson({ appId: 'com.x', permittedIdentifiers: [] }) });
    const discovery = createDiscovery({
      env: { BGTASKS_HOME: HOME },
      argv1: '/apps/x/main.js',
      cwd: '/',
      readFile: fs.readFile,
    });
    assertUnavailable(() => discovery.resolve(), /^app com\.x is not installed: run `bgtasks install \/apps\/x`/);
  });

  it('rejects a malformed credential or app id', () => {
    const short = createDiscovery({
      env: { BGTASKS_HOME: HOME, BGTASKS_APP_ID: 'com.x' },
      argv1: undefined,
      cwd: '/',
      readFile: (path) => (path.endsWith('/credentials/com.x') ? 'short\n' : null),
    });
    assertUnavailable(() => short.resolve(), /credential file .* is malformed/);
    const badId = createDiscovery({
      env: { BGTASKS_HOME: HOME, BGTASKS_APP_ID: '../etc' },
      argv1: undefined,
      cwd: '/',
      readFile: () => null,
    });
    assertUnavailable(() => badId.resolve(), /not a reverse-DNS name/);
  });

  it('reads the credential again on each resolve, so installing while running works', () => {
    const files: Record<string, string> = {};
    const discovery = createDiscovery({
      env: { BGTASKS_HOME: HOME, BGTASKS_APP_ID: 'com.x' },
      argv1: undefined,
      cwd: '/',
      readFile: (path) => files[path] ?? null,
    });
    assertUnavailable(() => discovery.resolve(), /not installed/);
    files[`${HOME}/credentials/com.x`] = CREDENTIAL;
    assert.equal(discovery.resolve().credential, CREDENTIAL);
  });
});

describe('isPermitted', () => {
  const manifest: Manifest = {
    file: '/x/package.json',
    appId: 'com.x',
    permittedIdentifiers: ['com.x.refresh', 'com.x.export.*'],
    backgroundModes: ['fetch', 'processing'],
  };

  it('matches exact identifiers and members of listed families', () => {
    assert.equal(isPermitted(manifest, 'com.x.refresh'), true);
    assert.equal(isPermitted(manifest, 'com.x.refresh2'), false);
    assert.equal(isPermitted(manifest, 'com.x.export.42'), true);
    assert.equal(isPermitted(manifest, 'com.x.export.'), false);
    assert.equal(isPermitted(manifest, 'com.x.export'), false);
    assert.equal(isPermitted(manifest, 'com.x.exports.1'), false);
  });

  it('permits a family registration only when that family is listed (the daemon rule)', () => {
    assert.equal(isPermitted(manifest, 'com.x.export.*'), true);
    assert.equal(isPermitted(manifest, 'com.x.export.images.*'), false);
    assert.equal(isPermitted(manifest, 'com.x.*'), false);
  });
});
