import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestHome, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * What a hostile local user or a broken app does to the daemon (issue 17, items 5, 8, 9), against a real
 * daemon: each is refused or contained, and the daemon keeps answering everyone else meanwhile.
 */
describe('local attacks (real daemon)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;

  before(async () => {
    daemon = await home.startDaemon(['--option', 'profile=server']);
  });
  after(async () => {
    await daemon[Symbol.asyncDispose]();
    home.cleanup();
  });

  /** An app directory whose package.json is made by `make`. */
  const appDir = (name: string, make: (file: string) => void): string => {
    const dir = join(home.dir, name);
    mkdirSync(dir, { recursive: true });
    make(join(dir, 'package.json'));
    return dir;
  };

  for (const [kind, make] of [
    ['a FIFO', (file: string) => execFileSync('mkfifo', [file])],
    ['a symlink to /dev/zero', (file: string) => symlinkSync('/dev/zero', file)],
  ] as const) {
    it(`refuses ${kind} as package.json with a typed error naming it, and answers others meanwhile`, async () => {
      const dir = appDir(kind.replace(/\W+/g, '-'), make);
      // Both at once: a daemon blocked on the FIFO (or reading /dev/zero) would answer neither.
      const [install, status] = await Promise.all([home.cli('install', dir, '--json'), home.cli('status')]);
      assert.equal(status.code, 0, status.stderr);
      assert.notEqual(install.code, 0);
      assert.match(install.stderr, /invalidManifest/);
      assert.match(install.stderr, /package\.json/);
      assert.match(install.stderr, /not a regular file/);
      assert.equal((await home.cli('status')).code, 0, 'the daemon still answers');
    });
  }
});
