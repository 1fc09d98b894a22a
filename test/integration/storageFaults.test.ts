import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { readDashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { homePaths } from '../../src/shared/paths.js';
import { CLI, ROOT, TestHome, until, run, type DaemonProcess } from '../support/daemonProcess.js';
import { RawClient } from '../support/rawClient.js';

/**
 * The store's disk fills up under a real daemon: the store lives on a small tmpfs of its own (mounting
 * one needs root, as on the CI machines; elsewhere the test says why it is skipped). A submission gets a
 * typed error and leaves nothing behind; the daemon keeps answering reads, says what is wrong in
 * `bgtasks status`, and carries on by itself once space returns. (That no task starts while its run
 * cannot be recorded is checked in virtual time, in test/unit/storeWriter.test.ts.)
 */
const APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'chaos');
const APP = 'com.test.chaos';
const PUSH_APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'push-sink');
const PUSH_APP = 'com.test.pushsink';

function mountTmpfs(dir: string, size: string): string | null {
  mkdirSync(dir, { recursive: true });
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  return result.status === 0
    ? null
    : `cannot mount a tmpfs here (${(result.stderr || result.error?.message || '').trim()}): ` + `the test needs root`;
}

/** Writes a file until the disk is full; returns its path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  return path;
}

describe('storage faults (real daemon, real full disk)', () => {
  const home = new TestHome();
  const mount = join(home.dir, 'disk');
  const skip = mountTmpfs(mount, '8m');
  const storeFile = join(mount, 'store.sqlite');
  let daemon: DaemonProcess | undefined;
  let app: RawClient;
  let nextId = 1;

  const submit = async (
    identifier: string,
    earliestBeginAt: number | null,
  ): Promise<{ ok: boolean; error?: { code: string; message: string } }> => {
    const id = nextId++;
    app.send({ t: 'submit', id, requests: [{ identifier, kind: 'processing', earliestBeginAt }] });
    const reply = await until(`reply ${id}`, () => app.reply(id));
    return (reply.data as { results: { ok: boolean; error?: { code: string; message: string } }[] }).results[0]!;
  };
  const pushTo = (appId: string, token: string): Promise<{ status: number; code: string | undefined }> =>
    new Promise((resolve, reject) => {
      const port = readDashboardFile(home.home)!.port;
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/v1/apps/${appId}/push`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              code: (JSON.parse(text) as { error?: { code?: string } }).error?.code,
            }),
          );
        },
      );
      request.once('error', reject);
      request.end(JSON.stringify({ data: { n: 1 } }));
    });
  const status = async (): Promise<{ store: { fault: { code: string } | null } }> =>
    (await home.cli('status', '--json')).json();
  const storeRows = (): {
    pending: string[];
    runs: { identifier: string; outcome: string | null }[];
    integrity: string;
  } => {
    const db = new Database(storeFile, { readonly: true, fileMustExist: true });
    try {
      return {
        pending: db
          .prepare<[string], { identifier: string }>(
            'SELECT identifier FROM requests WHERE app_id = ? ORDER BY identifier',
          )
          .all(APP)
          .map((row) => row.identifier),
        runs: db
          .prepare<[string], { identifier: string; outcome: string | null }>(
            'SELECT identifier, outcome FROM runs WHERE app_id = ?',
          )
          .all(APP),
        integrity: db.pragma('integrity_check', { simple: true }) as string,
      };
    } finally {
      db.close();
    }
  };

  before(async () => {
    if (skip) return;
    daemon = await home.startDaemon(['--store', storeFile, '--option', 'profile=server']);
    assert.equal((await home.cli('install', APP_DIR)).code, 0);
    assert.equal((await home.cli('install', PUSH_APP_DIR)).code, 0);
    app = RawClient.open(home.socket);
    const credential = readFileSync(homePaths(home.home).credentialFile(APP), 'utf8').trim();
    app.send({
      t: 'hello',
      v: 1,
      role: 'app',
      appId: APP,
      credential,
      pid: process.pid,
      launchId: null,
      registered: [],
    });
    await until('welcome', () => (app.frames.length > 0 ? true : undefined));
  });
  after(async () => {
    app?.socket.destroy();
    await daemon?.[Symbol.asyncDispose]();
    if (!skip) spawnSync('umount', ['-l', mount]);
    home.cleanup();
  });

  it(
    'refuses writes with storeFull, serves reads, says so, and recovers by itself ' + 'when space returns',
    { skip: skip ?? false },
    async () => {
      const tomorrow = Date.now() + 86_400_000;
      assert.equal((await submit('com.test.chaos.job.kept', tomorrow)).ok, true);
      const filler = fillDisk(mount);
      // SQLite reuses its WAL's space for a while: submit until a write needs more than there is.
      let refused: { ok: boolean; error?: { code: string; message: string } } | undefined;
      const accepted: string[] = [];
      for (let i = 0; i < 5000 && !refused; i++) {
        const result = await submit(`com.test.chaos.job.fill-${i}`, tomorrow);
        if (result.ok) accepted.push(`com.test.chaos.job.fill-${i}`);
        else refused = result;
      }
      assert.ok(refused, 'a submission was refused once the disk was full');
      assert.equal(refused.error?.code, 'unavailable');
      assert.match(refused.error?.message ?? '', /storeFull/);
      assert.equal(
        (await status()).store.fault?.code,
        'storeFull',
        '`bgtasks status` says the store cannot be written',
      );

      // Degraded: a write fails at once, with the same typed error; reads still work.
      const whileFull = await submit('com.test.chaos.job.while-full', Date.now());
      assert.match(whileFull.error?.message ?? '', /storeFull/);
      const pushed = await pushTo(PUSH_APP, (await home.cli('apps', 'token', PUSH_APP)).stdout.trim());
      assert.deepEqual([pushed.status, pushed.code], [503, 'storeFull'], 'a push sender is told to come back later');
      const pending = await home.cli('pending', '--json');
      assert.equal(pending.code, 0, 'reads are served');
      const why = await home.cli('why', APP, 'com.test.chaos.job.kept');
      assert.match(
        why.stdout,
        /NO TASK STARTS: the store cannot be written .*storeFull/,
        '`bgtasks why` says why nothing starts',
      );

      rmSync(filler);
      await until('the store to take writes again', async () =>
        (await status()).store.fault === null ? true : undefined,
      );
      // The raw connection registered no handler; the app itself submits and runs a task now.
      app.socket.destroy();
      const after = await run(process.execPath, ['main.mjs', 'one', 'com.test.chaos.job.after'], {
        cwd: APP_DIR,
        env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
      });
      assert.equal(after.code, 0, `submissions work again: ${after.stderr}`);
      await until('the task submitted after recovery to run', () =>
        storeRows().runs.some((run) => run.identifier === 'com.test.chaos.job.after' && run.outcome === 'success')
          ? true
          : undefined,
      );

      const rows = storeRows();
      assert.equal(rows.integrity, 'ok');
      assert.ok(rows.pending.includes('com.test.chaos.job.kept'), 'what was stored before is still there');
      for (const identifier of accepted)
        assert.ok(rows.pending.includes(identifier), `${identifier} was acknowledged, so it is kept`);
      const refusedIdentifiers = ['com.test.chaos.job.while-full', `com.test.chaos.job.fill-${accepted.length}`];
      for (const identifier of refusedIdentifiers) {
        assert.ok(!rows.pending.includes(identifier), `refused ${identifier} left nothing behind`);
        assert.ok(!rows.runs.some((run) => run.identifier === identifier), `refused ${identifier} did not run`);
      }
      assert.ok(existsSync(storeFile));
    },
  );

  it(
    'refuses to start on a read-only store with storeReadOnly, writes nothing, ' + 'and starts once it is writable',
    { skip: skip ?? false },
    async () => {
      rmSync(join(mount, 'filler'), { force: true }); // should the first test have failed with the disk full
      await daemon!.kill('SIGTERM');
      daemon = undefined;
      const before = storeRows();
      assert.equal(spawnSync('mount', ['-o', 'remount,ro', mount]).status, 0);
      try {
        const refused = await run(process.execPath, [CLI, '--home', home.home, 'daemon', '--store', storeFile]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /storeReadOnly/);
        assert.match(refused.stderr, /store\.sqlite/, 'the message names the file');
      } finally {
        assert.equal(spawnSync('mount', ['-o', 'remount,rw', mount]).status, 0);
      }
      daemon = await home.startDaemon(['--store', storeFile, '--option', 'profile=server']);
      const afterRestart = storeRows();
      assert.deepEqual(afterRestart.pending, before.pending, 'every pending request is still there');
      assert.equal(afterRestart.integrity, 'ok');
    },
  );
});
