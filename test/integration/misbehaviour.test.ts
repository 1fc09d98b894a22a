import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { homePaths } from '../../src/shared/paths.js';
import { PROBE_APP, TestHome, until, run, type DaemonProcess } from '../support/daemonProcess.js';
import { RawClient } from '../support/rawClient.js';
import { CITIZEN_DIR, citizenRuns, runsOf } from '../support/citizen.js';

/**
 * Apps that misbehave, against a real daemon: a thousand connections, a flood of frames, a 100 MB
 * message, broken frames, a crash mid-task and an exit without completing. The daemon stays up and keeps
 * serving another app (the chaos fixture, a good citizen here), records each case with its reason, and
 * throttles the offender (`throttled` events with the reason; its background launches wait).
 */
const OFFENDER = 'com.test.probe';

function helloFrame(credential: string): string {
  return `${JSON.stringify({ t: 'hello', v: 1, role: 'app', appId: OFFENDER, credential, pid: process.pid, launchId: null, registered: [] })}\n`;
}

describe('misbehaving apps (real daemon)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let credential = '';

  /** The offender's `throttled` events, by reason. */
  const offences = (): Map<string, number> => {
    const db = new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare<[string], { reason: string; n: number }>(
          `SELECT reason, COUNT(*) AS n FROM events WHERE app_id = ? AND type = ` + `'throttled' GROUP BY reason`,
        )
        .all(OFFENDER);
      return new Map(rows.map((row) => [row.reason, row.n]));
    } finally {
      db.close();
    }
  };

  before(async () => {
    daemon = await home.startDaemon(['--option', 'profile=server']);
    assert.equal((await home.cli('install', PROBE_APP)).code, 0);
    assert.equal((await home.cli('install', CITIZEN_DIR)).code, 0);
    credential = readFileSync(homePaths(home.home).credentialFile(OFFENDER), 'utf8').trim();
  });
  after(async () => {
    await daemon[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('survives a thousand connections that never say hello, and still answers a client that does', async () => {
    const clients = Array.from({ length: 1000 }, () => RawClient.open(home.socket));
    await Promise.all(clients.map((client) => client.connected));
    assert.equal((await home.cli('status')).code, 0, 'the command connects and is answered');
    const refused = await until('the oldest to be closed', () => {
      const closed = clients.filter((client) => client.closed);
      return closed.length >= 1000 - 64 ? closed : undefined;
    });
    assert.ok(
      refused.every((client) => client.errorCode() === undefined || client.errorCode() === 'tooManyConnections'),
    );
    for (const client of clients) client.socket.destroy();
    await citizenRuns(home, 'com.test.chaos.job.after-connections');
  });

  it(
    'admits at most 32 connections of one app, refuses the rest with ' + 'tooManyConnections, and throttles it',
    async () => {
      const clients = Array.from({ length: 1000 }, () => RawClient.open(home.socket));
      for (const client of clients) client.socket.write(helloFrame(credential));
      await until('every hello answered', () =>
        clients.every((client) => client.frames.length > 0 || client.closed) ? true : undefined,
      );
      const welcomed = clients.filter((client) => client.frames[0]?.t === 'welcome' && !client.closed);
      assert.ok(welcomed.length <= 32, `${welcomed.length} admitted`);
      const refusedCodes = new Set(
        clients.filter((client) => !welcomed.includes(client)).map((client) => client.errorCode() ?? 'closed'),
      );
      assert.deepEqual(
        [...refusedCodes].filter((code) => code !== 'tooManyConnections' && code !== 'closed'),
        [],
      );
      await until('the offence recorded', () => (offences().get('tooManyConnections') === 1 ? true : undefined));
      const why = await home.cli('why', '--app', OFFENDER);
      assert.match(why.stdout, /throttl/i, 'the throttle shows in `bgtasks why --app`');
      for (const client of clients) client.socket.destroy();
      await citizenRuns(home, 'com.test.chaos.job.after-hellos');
    },
  );

  it(
    'stops reading a connection that floods it, serves others meanwhile, and ' + 'answers the flood in the end',
    async () => {
      const flooder = RawClient.open(home.socket);
      flooder.socket.write(helloFrame(credential));
      await until('welcome', () => (flooder.frames.length > 0 ? true : undefined));
      assert.equal(flooder.frames[0]?.t, 'welcome');
      // 100,000 frames at once, five seconds' worth at the limit of 20,000 per second (the daemon reads them
      // far faster than that, so the limit is crossed even on a slow machine), then a request.
      const frame = `${JSON.stringify({ t: 'started', taskIds: ['not-a-task-of-this-app'] })}\n`;
      flooder.socket.write(frame.repeat(100_000));
      flooder.socket.write(`${JSON.stringify({ t: 'pending', id: 1 })}\n`);
      await until('the flood recorded', () => (offences().get('socketFlood') === 1 ? true : undefined));
      assert.equal((await home.cli('status')).code, 0, 'the daemon answers others while it holds the flooder back');
      const reply = await until('the request after the flood answered', () =>
        flooder.frames.find((message) => message.t === 'reply' && message.id === 1),
      );
      assert.equal(reply.ok, true, 'throttled, not dropped');
      assert.equal(flooder.closed, false);
      flooder.socket.destroy();
    },
  );

  it('closes a connection that sends 100 MB in one frame, before holding more than the frame limit', async () => {
    const sender = RawClient.open(home.socket);
    sender.socket.write(helloFrame(credential));
    await until('welcome', () => (sender.frames.length > 0 ? true : undefined));
    const megabyte = Buffer.alloc(1024 * 1024, 'x');
    for (let sent = 0; sent < 100 && !sender.closed; sent++) {
      if (!sender.socket.write(megabyte))
        await new Promise((resolve) => sender.socket.once('drain', resolve).once('close', resolve));
    }
    await until('closed', () => (sender.closed ? true : undefined));
    assert.equal(sender.errorCode(), 'frameTooLarge');
    await until('the offence recorded', () => (offences().get('frameTooLarge') === 1 ? true : undefined));
    const broken = RawClient.open(home.socket);
    broken.socket.write(`${helloFrame(credential)}{"t":"submit","id":1,"requests":"all of them"}\n`);
    await until('closed', () => (broken.closed ? true : undefined));
    assert.equal(broken.errorCode(), 'protocolError');
    await until('the offence recorded', () => (offences().get('protocolError') === 1 ? true : undefined));
    await citizenRuns(home, 'com.test.chaos.job.after-big-frame');
  });

  it('records an app that crashes mid-task or exits without completing, and keeps running the others', async () => {
    for (const identifier of ['com.test.chaos.job.crash', 'com.test.chaos.job.exit']) {
      const submitted = await run(process.execPath, ['main.mjs', 'one', identifier], {
        cwd: CITIZEN_DIR,
        env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
      });
      assert.ok(
        submitted.code === 0 || submitted.code === null,
        'the submitter may itself take the task and crash (killed: no code)',
      );
      const ended = await until(`${identifier} to end`, () =>
        runsOf(home, identifier).find((row) => row.outcome === 'appExited' && row.reason === 'appExited'),
      );
      assert.equal(ended.outcome, 'appExited');
      assert.ok(
        runsOf(home, identifier).length <= 3,
        'a task that kills its process is given up after three processes, not ' + 'relaunched forever',
      );
    }
    await citizenRuns(home, 'com.test.chaos.job.after-crashes');
    assert.equal(daemon.child.exitCode, null, 'the daemon is still up');
  });
});
