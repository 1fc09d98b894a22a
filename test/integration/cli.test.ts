import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROBE_APP, TestHome, type DaemonProcess, type EventWatcher } from '../support/daemonProcess.js';

/** Writes raw bytes to the daemon's socket and collects everything it answers until it closes. */
function exchange(socketPath: string, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.write(bytes);
  });
}

/** The `bgtasks` command and the SDK against a real daemon: every error a user can provoke. */
describe('bgtasks command and SDK errors', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let watcher: EventWatcher;

  function appDir(name: string, manifest: unknown, files: Record<string, string> = { 'main.mjs': '' }): string {
    const dir = join(home.dir, 'apps', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, type: 'module', bgtasks: manifest }));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    return dir;
  }

  before(async () => {
    daemon = await home.startDaemon();
    watcher = await daemon.watch();
    assert.equal((await home.cli('install', PROBE_APP)).code, 0);
  });

  after(async () => {
    await watcher?.[Symbol.asyncDispose]();
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('rejects an invalid manifest with the field at fault, and installs nothing', async () => {
    const bad = appDir('bad', {
      appId: 'com.test.bad',
      launch: ['node', 'main.mjs'],
      permittedIdentifiers: ['com.test.bad.x'],
      backgroundModes: ['fetch', 'teleport'],
    });
    const result = await home.cli('install', bad);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /field: bgtasks\.backgroundModes\.1/);
    assert.match(result.stderr, /invalidManifest/);
    const noSection = appDir('nosection', undefined);
    assert.match((await home.cli('install', noSection)).stderr, /no "bgtasks" section/);
    const apps = (await home.cli('apps', '--json')).json<{ appId: string }[]>();
    assert.deepEqual(
      apps.map((app) => app.appId),
      ['com.test.probe'],
    );
  });

  it('reports a launch command that does not exist at install time', async () => {
    const missingCommand = appDir('nocmd', {
      appId: 'com.test.nocmd',
      launch: ['definitely-not-a-command-xyz'],
      permittedIdentifiers: ['com.test.nocmd.x'],
      backgroundModes: ['fetch'],
    });
    const result = await home.cli('install', missingCommand);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /launchCommandNotFound/);
    assert.match(result.stderr, /bgtasks\.launch\.0/);
    const missingScript = appDir('noscript', {
      appId: 'com.test.noscript',
      launch: ['node', 'gone.mjs'],
      permittedIdentifiers: ['com.test.noscript.x'],
      backgroundModes: ['fetch'],
    });
    assert.match((await home.cli('install', missingScript)).stderr, /gone\.mjs, which does not exist/);
  });

  it('validates every argument, and says when the app is unknown', async () => {
    const badId = await home.cli('why', 'not an id', 'x');
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /reverse-DNS/);
    assert.equal((await home.cli('history', '--limit', '0')).code, 2);
    assert.equal((await home.cli('conditions', 'set', 'power=solar')).code, 2);
    const unknown = await home.cli('why', 'com.test.nothere', 'com.test.nothere.x');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknownApp/);
    const notPermitted = await home.cli('run', 'com.test.probe', 'com.test.elsewhere.x');
    assert.equal(notPermitted.code, 1);
    assert.match(notPermitted.stderr, /notPermitted/);
    assert.equal((await home.cli('expire', 'com.test.probe', 'com.test.probe.refresh')).code, 1);
  });

  it('answers notFleet to the fleet views on a daemon whose store is SQLite', async () => {
    for (const args of [
      ['nodes'],
      ['pending', '--fleet'],
      ['history', '--fleet'],
      ['why', '--fleet', 'com.test.probe', 'com.test.probe.refresh'],
    ]) {
      const result = await home.cli(...args);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, /not shared by a fleet: start it with --store postgres:\/\/.*\[notFleet\]/);
    }
    assert.equal((await home.cli('history', '--node', 'bad id', '--fleet')).code, 2);
  });

  it("gives the SDK's error codes, each with its field where one is at fault", async () => {
    const result = await home.probe('errors');
    const errors = result.json<
      Record<string, { code: string; field: string | null; name: string }> & {
        tooMany: { code: string }[];
        pending: number;
      }
    >();
    assert.equal(errors.notPermitted?.code, 'notPermitted');
    assert.equal(errors.notPermitted?.name, 'BGTaskSchedulerError');
    assert.equal(errors.invalidRequest?.code, 'invalidRequest');
    assert.equal(errors.invalidRequest?.field, 'earliestBeginDate');
    assert.equal(errors.invalidIdentifier?.code, 'invalidRequest');
    assert.equal(errors.invalidIdentifier?.field, 'identifier');
    assert.deepEqual(
      errors.tooMany.map((error) => error.code),
      ['tooManyPendingTaskRequests'],
    );
    assert.equal(errors.pending, 10);
    // The late registration after the handshake was refused, and the app did not crash.
    const late = home.probeEvents().find((event) => event.event === 'lateRegistration');
    assert.equal(late?.accepted, false);
    // The same limit through the CLI: `run` must queue a request, and there is no room.
    const cli = await home.cli('run', 'com.test.probe', 'com.test.probe.work.extra', '--kind', 'processing');
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /tooManyPendingTaskRequests/);
    assert.deepEqual((await home.probe('cancelAll')).json(), { pending: 0 });
  });

  it('refuses to start a second daemon on the same home', async () => {
    const second = await home.cli('daemon');
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already running/);
    assert.equal((await home.cli('status')).code, 0, 'the first one still runs');
  });

  it('answers unavailable for a disabled app, through the SDK and the CLI', async () => {
    assert.equal((await home.cli('apps', 'disable', 'com.test.probe')).code, 0);
    const sdk = (await home.probe('submitRefresh')).json<{ code: string }>();
    assert.equal(sdk.code, 'unavailable');
    const cli = await home.cli('run', 'com.test.probe', 'com.test.probe.refresh');
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /unavailable/);
    assert.equal((await home.cli('apps', 'enable', 'com.test.probe')).code, 0);
  });

  it(
    'fails a task with noHandler when the launched app registers no handler for ' + 'it, without crashing the app',
    async () => {
      // --kind: the identifier never ran and the app may run both kinds, so `run` no longer guesses (issue 20).
      const run = await home.cli('run', 'com.test.probe', 'com.test.probe.unhandled', '--kind', 'refresh', '--json');
      assert.equal(run.code, 0, run.stderr);
      const { taskId } = run.json<{ taskId: string }>();
      const finished = await watcher.next(
        (event) => event.what === 'runUpdate' && event.taskId === taskId && event.state === 'finished',
        'the unhandled task to finish',
      );
      assert.equal(finished.outcome, 'noHandler');
      const [history] = (await home.cli('history', 'com.test.probe', 'com.test.probe.unhandled', '--json')).json<
        Record<string, unknown>[]
      >();
      assert.equal(history?.outcome, 'noHandler');
      assert.equal(history?.forced, true);
    },
  );

  it('closes a connection that sends a bad frame, and keeps serving everyone else', async () => {
    const reply = await exchange(
      home.socket,
      '{"t":"hello","v":1,"role":"app","appId":"com.test.probe","credential":42}\n',
    );
    assert.match(reply, /"code":"protocolError"/);
    assert.match(reply, /"field":"credential"/);
    const wrongVersion = await exchange(home.socket, '{"t":"hello","v":99,"role":"control"}\n');
    assert.match(wrongVersion, /unsupportedProtocolVersion/);
    assert.equal((await home.cli('status')).code, 0, 'the daemon still answers');
  });

  it(
    'survives a hello whose version nests 100,000 levels deep (found by fuzzing: ' + 'it took the daemon down)',
    async () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      for (const role of ['control', 'app']) {
        const reply = await exchange(home.socket, `{"t":"hello","v":${deep},"role":"${role}"}\n`);
        assert.match(reply, /"code":"unsupportedProtocolVersion"/);
        assert.match(reply, /not an array/);
      }
      assert.equal((await home.cli('status')).code, 0, 'the daemon still answers');
    },
  );

  it("answers a control command named after Object.prototype's members as unknown (found by fuzzing)", async () => {
    const frames = ['constructor', 'toString', '__proto__'].map((command, index) =>
      JSON.stringify({ t: 'control', id: index + 1, command, args: {} }),
    );
    const socket = createConnection(home.socket);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.write(`{"t":"hello","v":1,"role":"control"}\n${frames.join('\n')}\n`);
    const replies = await new Promise<Record<string, unknown>[]>((resolve) => {
      const replied = (): Record<string, unknown>[] =>
        text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((frame) => frame.t === 'reply');
      socket.on('data', () => replied().length === frames.length && resolve(replied()));
      socket.on('close', () => resolve(replied()));
    });
    socket.destroy();
    assert.equal(replies.length, frames.length);
    for (const reply of replies)
      assert.deepEqual(
        { ...(reply.error as Record<string, unknown>), message: undefined },
        { code: 'unknownCommand', field: 'command', message: undefined },
      );
  });

  it('prints tables for people and JSON for scripts', async () => {
    const table = await home.cli('apps');
    assert.match(table.stdout, /^APPID\s+ENABLED/m);
    const conditions = (await home.cli('conditions', '--json')).json<{
      conditions: Record<string, unknown>;
      origins: Record<string, string>;
    }>();
    assert.ok(['online', 'offline', 'unknown'].includes(String(conditions.conditions.network)));
    const set = (await home.cli('conditions', 'set', 'network=offline', '--json')).json<{
      conditions: { network: string };
      origins: { network: string };
    }>();
    assert.deepEqual([set.conditions.network, set.origins.network], ['offline', 'override']);
    const reset = (await home.cli('conditions', 'reset', '--json')).json<{ origins: { network: string } }>();
    assert.notEqual(reset.origins.network, 'override');
  });

  it('refuses an app connection with a wrong credential', async () => {
    const reply = await exchange(
      home.socket,
      `${JSON.stringify({ t: 'hello', v: 1, role: 'app', appId: 'com.test.probe', credential: 'x'.repeat(43), pid: process.pid, launchId: null, registered: [] })}\n`,
    );
    assert.match(reply, /"code":"badCredential"/);
    assert.doesNotMatch(reply, /x{43}/, 'the credential is never echoed');
  });
});
