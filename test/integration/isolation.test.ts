import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readDashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { homePaths } from '../../src/shared/paths.js';
import { ROOT, PROBE_APP, TestHome, until, type DaemonProcess } from '../support/daemonProcess.js';
import { RawClient } from '../support/rawClient.js';

/**
 * One app against another, on a real daemon: app B tries to see, cancel, explain, submit as, and push to
 * app A, with its own credential and with A's id. Nothing of A's moves, and B learns nothing about A's
 * requests. Also the files that guard the doors: the socket's directory, the socket, credentials, tokens.
 */
const VICTIM = 'com.test.chaos';
const VICTIM_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'chaos');
const INTRUDER = 'com.test.probe';
const VICTIM_ID = 'com.test.chaos.job.secret';
const GUARD_MS = 20_000;
const DAY_MS = 86_400_000;

async function answered(client: RawClient, id: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const reply = client.reply(id);
    if (reply) return reply;
    if (client.closed) throw new Error(`closed before reply ${id}: ${JSON.stringify(client.frames)}`);
    if (Date.now() > deadline) throw new Error(`no reply ${id}`);
    await sleep(20);
  }
}

async function connectAs(socket: string, appId: string, credential: string): Promise<RawClient> {
  const client = RawClient.open(socket);
  client.send({ t: 'hello', v: 1, role: 'app', appId, credential, pid: process.pid, launchId: null, registered: [] });
  const deadline = Date.now() + GUARD_MS;
  while (client.frames.length === 0 && !client.closed) {
    if (Date.now() > deadline) throw new Error('no answer to hello');
    await sleep(20);
  }
  return client;
}

function post(
  port: number,
  path: string,
  token: string,
  body: unknown,
  host = '127.0.0.1',
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host,
        port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('one app cannot reach another (real daemon)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let victim: RawClient;
  let intruder: RawClient;
  const credentialOf = (appId: string): string =>
    readFileSync(homePaths(home.home).credentialFile(appId), 'utf8').trim();

  before(async () => {
    daemon = await home.startDaemon();
    assert.equal((await home.cli('install', VICTIM_DIR)).code, 0);
    assert.equal((await home.cli('install', PROBE_APP)).code, 0);
    victim = await connectAs(home.socket, VICTIM, credentialOf(VICTIM));
    victim.send({
      t: 'submit',
      id: 1,
      requests: [{ identifier: VICTIM_ID, kind: 'processing', earliestBeginAt: Date.now() + DAY_MS }],
    });
    assert.equal((await answered(victim, 1)).ok, true);
    intruder = await connectAs(home.socket, INTRUDER, credentialOf(INTRUDER));
    assert.equal(intruder.frames[0]?.t, 'welcome');
  });
  after(async () => {
    victim.socket.destroy();
    intruder.socket.destroy();
    await daemon[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('cannot connect as the other app, with its own credential or a guess', async () => {
    const asVictim = await connectAs(home.socket, VICTIM, credentialOf(INTRUDER));
    assert.equal(asVictim.errorCode(), 'badCredential');
    const guessed = await connectAs(home.socket, VICTIM, 'A'.repeat(43));
    assert.equal(guessed.errorCode(), 'badCredential');
  });

  it("does not see, cancel or explain the other app's requests, nor submit its identifiers", async () => {
    intruder.send({ t: 'pending', id: 1 });
    assert.deepEqual((await answered(intruder, 1)).data, { requests: [] });
    intruder.send({ t: 'cancel', id: 2, identifiers: [VICTIM_ID] });
    assert.deepEqual((await answered(intruder, 2)).data, { cancelled: 0 });
    intruder.send({ t: 'cancel', id: 3, identifiers: null });
    assert.deepEqual((await answered(intruder, 3)).data, { cancelled: 0 });
    intruder.send({ t: 'explain', id: 4, identifier: VICTIM_ID });
    const explanation = (await answered(intruder, 4)).data as {
      state: string;
      appId: string;
      history: unknown[];
      lastRun: unknown;
    };
    assert.deepEqual(
      [explanation.state, explanation.appId, explanation.history, explanation.lastRun],
      ['none', INTRUDER, [], null],
      'asked about its own (empty) identifier: nothing of the victim leaks',
    );
    intruder.send({
      t: 'submit',
      id: 5,
      requests: [{ identifier: VICTIM_ID, kind: 'processing', earliestBeginAt: null }],
    });
    const submitted = (await answered(intruder, 5)).data as { results: { ok: boolean; error?: { code: string } }[] };
    assert.equal(submitted.results[0]?.ok, false);
    assert.equal(submitted.results[0]?.error?.code, 'notPermitted');
    victim.send({ t: 'pending', id: 2 });
    const pending = (await answered(victim, 2)).data as { requests: { identifier: string }[] };
    assert.deepEqual(
      pending.requests.map((request) => request.identifier),
      [VICTIM_ID],
      "the victim's request is untouched",
    );
  });

  it("cannot register for the other app's tasks, and is handed none of them", async () => {
    const spy = RawClient.open(home.socket);
    spy.send({
      t: 'hello',
      v: 1,
      role: 'app',
      appId: INTRUDER,
      credential: credentialOf(INTRUDER),
      pid: process.pid,
      launchId: null,
      registered: ['com.test.chaos.job.*'],
    });
    const welcome = await until('welcome', () => spy.frames.find((frame) => frame.t === 'welcome'), GUARD_MS);
    assert.deepEqual(welcome.accepted, []);
    assert.deepEqual(
      (welcome.rejected as { identifier: string; reason: string }[]).map((rejection) => rejection.reason),
      ['notPermitted'],
    );
    // A task of the victim's that starts now goes to the victim's own connection (it registered no handler, so
    // the run ends noHandler there), never to the spy that asked for the victim's identifiers.
    victim.send({
      t: 'submit',
      id: 10,
      requests: [{ identifier: 'com.test.chaos.job.now', kind: 'processing', earliestBeginAt: null }],
    });
    assert.equal((await answered(victim, 10)).ok, true);
    const run = await until(
      'the victim task to end',
      async () => {
        const runs = (await home.cli('history', VICTIM, '--json')).json<
          { identifier: string; outcome: string | null }[]
        >();
        return runs.find((row) => row.identifier === 'com.test.chaos.job.now' && row.outcome !== null);
      },
      GUARD_MS,
    );
    assert.equal(run.outcome, 'noHandler');
    assert.deepEqual(
      [...spy.frames, ...intruder.frames].filter((frame) => frame.t === 'tasks'),
      [],
      'the other app is handed no task of the victim',
    );
    spy.socket.destroy();
  });

  it('cannot push to the other app with its own push token', async () => {
    const port = readDashboardFile(home.home)!.port;
    const intruderToken = (await home.cli('apps', 'token', INTRUDER)).stdout.trim();
    assert.equal(await post(port, `/v1/apps/${VICTIM}/push`, intruderToken, { data: {} }), 401);
  });

  it('keeps its doors closed: 0700 directories, 0600 socket, credentials and tokens', () => {
    const paths = homePaths(home.home);
    const mode = (path: string): number => statSync(path).mode & 0o777;
    assert.equal(mode(dirname(home.socket)), 0o700);
    assert.equal(mode(home.socket), 0o600);
    assert.equal(mode(dirname(paths.credentialFile(VICTIM))), 0o700);
    assert.equal(mode(paths.credentialFile(VICTIM)), 0o600);
    assert.equal(mode(paths.storeFile), 0o600);
    assert.doesNotMatch(daemon.log, new RegExp(credentialOf(VICTIM)), 'a credential is never logged');
  });
});

/** An address of this machine that other machines could reach (not loopback), if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
}

describe('where HTTP listens (real daemon)', () => {
  const SINK = join(ROOT, 'test', 'fixtures', 'apps', 'push-sink');
  const SINK_APP = 'com.test.pushsink';
  const address = externalAddress();

  it(
    'listens on 127.0.0.1 only by default',
    { skip: address ? false : 'this machine has no non-loopback address' },
    async () => {
      const home = new TestHome();
      await using daemon = await home.startDaemon();
      try {
        const port = readDashboardFile(home.home)!.port;
        await assert.rejects(post(port, '/v1/apps/x/push', 'token', {}, address!), { code: 'ECONNREFUSED' });
        assert.doesNotMatch(daemon.log, /reachable from other machines/);
      } finally {
        home.cleanup();
      }
    },
  );

  it(
    'listens elsewhere only when told (--http-host), warns, and still refuses a ' + 'name it was not told',
    { skip: address ? false : 'this machine has no non-loopback address' },
    async () => {
      const home = new TestHome();
      await using daemon = await home.startDaemon(['--http-host', '0.0.0.0']);
      try {
        assert.match(daemon.log, /reachable from other machines, over plain HTTP/);
        assert.equal((await home.cli('install', SINK)).code, 0);
        const token = (await home.cli('apps', 'token', SINK_APP)).stdout.trim();
        const port = readDashboardFile(home.home)!.port;
        assert.equal(
          await post(port, `/v1/apps/${SINK_APP}/push`, token, { data: { n: 1 } }, address!),
          200,
          'a sender on the network reaches the push endpoint with the token',
        );
        assert.equal(await post(port, `/v1/apps/${SINK_APP}/push`, 'wrong', { data: {} }, address!), 401);
        assert.equal(
          await post(port, `/v1/apps/${SINK_APP}/push`, token, { data: {} }, address!, {
            host: `evil.example:${port}`,
          }),
          421,
          'DNS rebinding still refused',
        );
      } finally {
        home.cleanup();
      }
    },
  );

  it('refuses an --http-host that is not an address, naming the option', async () => {
    const home = new TestHome();
    try {
      const refused = await home.cli('daemon', '--http-host', 'example.com');
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /httpHost/);
    } finally {
      home.cleanup();
    }
  });
});
