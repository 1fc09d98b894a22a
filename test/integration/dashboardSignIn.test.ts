import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDashboardFile, type DashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { cookieName } from '../../src/daemon/http/auth.js';
import { CLI, run, TestHome, until, type DaemonProcess } from '../support/daemonProcess.js';

/** Every process's argv on this machine, as /proc shows it to any local user. */
function everyArgv(): string[] {
  const argvs: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      argvs.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return argvs;
}

/**
 * `bgtasks dashboard` gives the browser opener an address without the token (issue 17, item 6): the
 * opener's argv is public. A fake `xdg-open` on PATH records its argv and stays alive while /proc is read.
 */
describe('dashboard sign-in (real daemon, fake opener)', () => {
  const home = new TestHome();
  const bin = join(home.dir, 'bin');
  const recorded = join(home.dir, 'opener-argv');
  let daemon: DaemonProcess;
  let dashboard: DashboardFile;

  before(async () => {
    daemon = await home.startDaemon();
    dashboard = readDashboardFile(home.home)!;
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'xdg-open'),
      `#!/bin/sh\nprintf '%s\\n' "$@" > "${recorded}.tmp"\nmv "${recorded}.tmp" ` + `"${recorded}"\nsleep 5\n`,
    );
    chmodSync(join(bin, 'xdg-open'), 0o755);
  });
  after(async () => {
    await daemon[Symbol.asyncDispose]();
    home.cleanup();
  });

  const get = (path: string): Promise<Response> =>
    fetch(new URL(path, dashboard.url), { redirect: 'manual', headers: { Accept: 'text/html' } });

  it('opens an address with a one-time code; no process argv holds the token; the code works once', async () => {
    const opened = await run(process.execPath, [CLI, '--home', home.home, 'dashboard'], {
      env: { PATH: `${bin}:${process.env.PATH}`, DISPLAY: ':99', WAYLAND_DISPLAY: '' },
    });
    assert.equal(opened.code, 0, opened.stderr);
    assert.match(opened.stderr, /opened with xdg-open/);
    const argv = await until('the opener to record its argv', () =>
      existsSync(recorded) ? readFileSync(recorded, 'utf8').trim() : undefined,
    );
    assert.ok(!argv.includes(dashboard.token), 'the opener was not given the token');
    assert.match(argv, /\?code=/);
    // The opener (sleeping with its argv) is alive now: nothing on the machine shows the token.
    const leaks = everyArgv().filter((line) => line.includes(dashboard.token));
    assert.deepEqual(leaks, []);
    assert.ok(
      everyArgv().some((line) => line.includes('?code=')),
      'the check sees the opener',
    );

    const path = new URL(argv).search;
    const first = await get(`/${path}`);
    assert.equal(first.status, 303);
    assert.equal(first.headers.get('location'), '/');
    assert.match(
      first.headers.get('set-cookie') ?? '',
      new RegExp(`^${cookieName(dashboard.port)}=${dashboard.token};`),
    );
    const again = await get(`/${path}`);
    assert.equal(again.status, 401, 'a used code opens nothing');
    assert.equal(again.headers.get('set-cookie'), null);
  });

  it('shows a browser without the token the sign-in page (src/dashboard/sign-in.html), not the dashboard', async () => {
    const page = await get('/');
    assert.equal(page.status, 401);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /Run <code>bgtasks dashboard<\/code> in a terminal/);
    assert.equal((await get('/sign-in.html')).status, 401, 'not served as a dashboard file either');
  });

  it('mints codes only for the token, and refuses a code it never made', async () => {
    const anonymous = await fetch(new URL('/v1/sign-in-codes', dashboard.url), { method: 'POST' });
    assert.equal(anonymous.status, 401);
    const minted = await fetch(new URL('/v1/sign-in-codes', dashboard.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${dashboard.token}` },
    });
    assert.equal(minted.status, 201);
    const { code, expiresInMs } = (await minted.json()) as { code: string; expiresInMs: number };
    assert.ok(expiresInMs <= 60_000, 'a code lives seconds, not a session');
    assert.equal((await get(`/?code=${code}x`)).status, 401);
    assert.equal((await get(`/?code=${code}`)).status, 303);
  });
});
