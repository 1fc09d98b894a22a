/**
 * The doctor's permissions check (src/cli/doctor/homeCheck.ts) on real directories, files and a real
 * listening socket: modes the daemon makes pass; wider ones fail with the exact chmod that fixes them.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkHome } from '../../src/cli/doctor/homeCheck.js';
import { homePaths } from '../../src/shared/paths.js';

const base = mkdtempSync(join(tmpdir(), 'bgt-doctor-home-'));
const servers: Server[] = [];
after(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  rmSync(base, { recursive: true, force: true });
});

let homes = 0;
/** A home laid out as the daemon leaves it: 0700 directories, a 0600 socket, 0600 credential and token files. */
async function daemonLikeHome(): Promise<string> {
  const home = join(base, `h${homes++}`);
  const paths = homePaths(home);
  for (const dir of [home, paths.runDir, paths.credentialsDir, join(home, 'push-tokens')]) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o700);
  }
  for (const file of [
    paths.credentialFile('com.example.a'),
    join(home, 'push-tokens', 'com.example.a'),
    paths.storeFile,
    join(paths.runDir, 'dashboard.json'),
  ]) {
    writeFileSync(file, 'x\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(paths.socket, resolve));
  chmodSync(paths.socket, 0o600);
  return home;
}

function byId(checks: readonly { id: string }[], id: string) {
  const found = checks.find((check) => check.id === id);
  assert.ok(found, `no check ${id} in ${checks.map((check) => check.id).join(', ')}`);
  return found as (typeof checks)[number] & { status: string; detail: string; fix?: string };
}

describe('doctor homeCheck', () => {
  it('passes a home with the modes the daemon makes', async () => {
    const home = await daemonLikeHome();
    const { checks } = checkHome({ home, storeFile: homePaths(home).storeFile });
    assert.deepEqual(
      checks.filter((check) => check.status !== 'ok'),
      [],
    );
    assert.deepEqual(
      checks.map((check) => check.id),
      [
        'permissions.home',
        'permissions.run',
        'permissions.socket',
        'permissions.credentials',
        'permissions.pushTokens',
        'permissions.files',
      ],
    );
  });

  it('fails a 0755 home, a 0644 credential and a 0666 socket, with the chmod that fixes each', async () => {
    const home = await daemonLikeHome();
    const paths = homePaths(home);
    chmodSync(home, 0o755);
    chmodSync(paths.credentialFile('com.example.a'), 0o644);
    chmodSync(paths.socket, 0o666);
    chmodSync(join(home, 'push-tokens'), 0o750);
    const { checks } = checkHome({ home, storeFile: paths.storeFile });

    const homeLine = byId(checks, 'permissions.home');
    assert.equal(homeLine.status, 'fail');
    assert.match(homeLine.detail, /is 0755, not 0700/);
    assert.equal(homeLine.fix, `chmod 700 ${home}`);
    const credentials = byId(checks, 'permissions.credentials');
    assert.equal(credentials.status, 'fail');
    assert.equal(credentials.fix, `chmod 600 ${paths.credentialFile('com.example.a')}`);
    assert.equal(byId(checks, 'permissions.socket').fix, `chmod 600 ${paths.socket}`);
    assert.equal(byId(checks, 'permissions.pushTokens').fix, `chmod 700 ${join(home, 'push-tokens')}`);
    assert.equal(byId(checks, 'permissions.run').status, 'ok');
  });

  it('fails a store file another user could read, and a token left world-readable in the home', async () => {
    const home = await daemonLikeHome();
    const paths = homePaths(home);
    chmodSync(paths.storeFile, 0o644);
    writeFileSync(join(home, 'metrics-token'), 'secret\n', { mode: 0o644 });
    chmodSync(join(home, 'metrics-token'), 0o644);
    const files = byId(checks(home), 'permissions.files');
    assert.equal(files.status, 'fail');
    assert.equal(files.fix, `chmod 600 ${join(home, 'metrics-token')} ${paths.storeFile}`);
  });

  it('fails files owned by someone else, with a chown', async () => {
    const home = await daemonLikeHome();
    const uid = (process.getuid?.() ?? 0) + 1;
    const line = byId(checkHome({ home, storeFile: null, uid }).checks, 'permissions.home');
    assert.equal(line.status, 'fail');
    assert.match(line.detail, /belongs to another user/);
    assert.match(line.fix!, new RegExp(`^chown \\S+ ${home}$`));
  });

  it('quotes paths with spaces in the fix', async () => {
    const home = join(base, 'with space');
    mkdirSync(home, { mode: 0o755 });
    chmodSync(home, 0o755);
    assert.equal(byId(checkHome({ home, storeFile: null }).checks, 'permissions.home').fix, `chmod 700 '${home}'`);
  });

  it('only warns when the home does not exist yet', () => {
    const { checks } = checkHome({ home: join(base, 'never-made'), storeFile: null });
    assert.equal(checks.length, 1);
    assert.equal(checks[0]!.status, 'warn');
    assert.match(checks[0]!.fix!, /bgtasks daemon/);
  });

  it('checks a store kept outside the home on its own line', async () => {
    const home = await daemonLikeHome();
    const outside = join(base, `outside-${homes}.sqlite`);
    writeFileSync(outside, 'x', { mode: 0o640 });
    chmodSync(outside, 0o640);
    const line = byId(checkHome({ home, storeFile: outside }).checks, 'permissions.store');
    assert.equal(line.status, 'fail');
    assert.equal(line.fix, `chmod 600 ${outside}`);
  });
});

function checks(home: string) {
  return checkHome({ home, storeFile: homePaths(home).storeFile }).checks;
}
