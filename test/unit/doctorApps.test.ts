/**
 * The doctor's apps check (src/cli/doctor/appsCheck.ts) on real app directories: each is "installed"
 * with the record the daemon would keep (the real manifest parser's output), then changed on disk.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkApps } from '../../src/cli/doctor/appsCheck.js';
import type { Check } from '../../src/cli/doctor/checks.js';
import type { InstalledApp } from '../../src/cli/doctor/daemonCheck.js';
import { loadManifest } from '../../src/daemon/manifest.js';

const base = mkdtempSync(join(tmpdir(), 'bgt-doctor-apps-'));
after(() => rmSync(base, { recursive: true, force: true }));

let apps = 0;
interface Made {
  readonly dir: string;
  readonly installed: InstalledApp;
  writeManifest(section: Record<string, unknown>): void;
}

/** An app directory with a manifest and its script, and the record `bgtasks install` would keep. */
function makeApp(launch: string[] = ['node', 'main.mjs']): Made {
  const dir = join(base, `app-${apps++}`);
  mkdirSync(dir, { recursive: true });
  const section = {
    appId: `com.example.app${apps}`,
    launch,
    permittedIdentifiers: [`com.example.app${apps}.refresh`],
    backgroundModes: ['fetch'],
  };
  const writeManifest = (next: Record<string, unknown>): void =>
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', bgtasks: next }));
  writeManifest(section);
  writeFileSync(join(dir, 'main.mjs'), 'export {};\n');
  const loaded = loadManifest(dir);
  const installed: InstalledApp = {
    appId: loaded.manifest.appId,
    dir: loaded.dir,
    launch: loaded.launch,
    permittedIdentifiers: [...loaded.manifest.permittedIdentifiers],
    backgroundModes: [...loaded.backgroundModes],
  };
  return { dir, installed, writeManifest: (changes) => writeManifest({ ...section, ...changes }) };
}

function only(checks: readonly Check[], id: string): Check {
  const found = checks.find((check) => check.id === id);
  assert.ok(found, `no ${id} among ${checks.map((check) => `${check.id}=${check.status}`).join(', ')}`);
  return found;
}

describe('doctor appsCheck', () => {
  it('passes an app whose directory, manifest and launch command are as installed', () => {
    const app = makeApp();
    const { checks } = checkApps({ apps: [app.installed], source: 'test' });
    assert.deepEqual(
      checks.map((check) => `${check.id}=${check.status}`),
      ['apps.list=ok', `apps.${app.installed.appId}.manifest=ok`, `apps.${app.installed.appId}.launch=ok`],
    );
    assert.match(only(checks, `apps.${app.installed.appId}.launch`).detail, /main\.mjs resolves and is executable/);
  });

  it('fails an app whose directory is gone, with uninstall or reinstall', () => {
    const app = makeApp();
    rmSync(app.dir, { recursive: true });
    const line = only(checkApps({ apps: [app.installed], source: 'test' }).checks, `apps.${app.installed.appId}.dir`);
    assert.equal(line.status, 'fail');
    assert.match(line.detail, /is gone/);
    assert.match(line.fix!, new RegExp(`bgtasks uninstall ${app.installed.appId.replace(/\./g, '\\.')}`));
  });

  it('fails an app whose package.json was removed', () => {
    const app = makeApp();
    unlinkSync(join(app.dir, 'package.json'));
    const line = only(
      checkApps({ apps: [app.installed], source: 'test' }).checks,
      `apps.${app.installed.appId}.manifest`,
    );
    assert.equal(line.status, 'fail');
    assert.match(line.detail, /no package\.json any more/);
  });

  it('fails a manifest that no longer parses, naming the field', () => {
    const app = makeApp();
    app.writeManifest({ backgroundModes: ['teleport'] });
    const line = only(
      checkApps({ apps: [app.installed], source: 'test' }).checks,
      `apps.${app.installed.appId}.manifest`,
    );
    assert.equal(line.status, 'fail');
    assert.match(line.fix!, /bgtasks\.backgroundModes/);
    assert.match(line.fix!, /bgtasks install .* again/);
  });

  it('warns when the permitted identifiers changed since install: install again', () => {
    const app = makeApp();
    app.writeManifest({
      permittedIdentifiers: [...app.installed.permittedIdentifiers, `${app.installed.appId}.export.*`],
    });
    const line = only(
      checkApps({ apps: [app.installed], source: 'test' }).checks,
      `apps.${app.installed.appId}.manifest`,
    );
    assert.equal(line.status, 'warn');
    assert.match(line.detail, /permitted identifiers added .*\.export\.\*/);
    assert.equal(line.fix, `bgtasks install ${app.dir} again`);
  });

  it('fails when the launch script the command runs was deleted', () => {
    const app = makeApp();
    unlinkSync(join(app.dir, 'main.mjs'));
    const { checks } = checkApps({ apps: [app.installed], source: 'test' });
    assert.equal(only(checks, `apps.${app.installed.appId}.launch`).status, 'fail');
    assert.match(only(checks, `apps.${app.installed.appId}.launch`).detail, /main\.mjs, which no longer exists/);
  });

  it('fails a launch command that is not on PATH, and one that is not executable', () => {
    const script = join(base, 'run-app.sh');
    writeFileSync(script, '#!/bin/sh\n', { mode: 0o755 });
    const app = makeApp([script]);
    chmodSync(script, 0o644);
    const notExecutable = only(
      checkApps({ apps: [app.installed], source: 'test' }).checks,
      `apps.${app.installed.appId}.launch`,
    );
    assert.equal(notExecutable.status, 'fail');
    assert.match(notExecutable.fix!, /chmod \+x/);

    const other = makeApp();
    const missing = { ...other.installed, launch: ['definitely-not-a-command-bgtasks', 'main.mjs'] };
    const line = only(checkApps({ apps: [missing], source: 'test' }).checks, `apps.${other.installed.appId}.launch`);
    assert.equal(line.status, 'fail');
    assert.match(line.detail, /not found or not executable/);
  });

  it('resolves a bare launch command on the PATH it is given, as the launcher would', () => {
    const bin = join(base, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'my-runner'), '#!/bin/sh\n', { mode: 0o755 });
    const app = makeApp();
    const installed = { ...app.installed, launch: ['my-runner'] };
    assert.equal(
      only(
        checkApps({ apps: [installed], source: 'test', env: { PATH: bin } }).checks,
        `apps.${installed.appId}.launch`,
      ).status,
      'ok',
    );
    assert.equal(
      only(
        checkApps({ apps: [installed], source: 'test', env: { PATH: '/nonexistent' } }).checks,
        `apps.${installed.appId}.launch`,
      ).status,
      'fail',
    );
  });

  it('says so when there are no apps, and warns when they could not be listed', () => {
    assert.equal(checkApps({ apps: [], source: 'test' }).checks[0]!.status, 'ok');
    const unlisted = checkApps({ apps: null, appsError: 'the store cannot be opened', source: 'test' }).checks[0]!;
    assert.equal(unlisted.status, 'warn');
    assert.match(unlisted.detail, /the store cannot be opened/);
  });
});
