/**
 * The typed control surface (src/protocol/control): every command the protocol names has a handler in
 * the daemon and no handler lacks a spec; the daemon checks arguments at the boundary and names the
 * field at fault; `ControlClient.call` carries typed arguments and results over a real socket. The
 * `@ts-expect-error` lines are checked by `npm run typecheck`: a wrong name, argument or result field
 * does not compile.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ControlClient } from '../../src/cli/controlClient.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { CONTROL_COMMANDS, isControlName, type ControlResult } from '../../src/protocol/control/index.js';

const PROBE_APP = resolve(import.meta.dirname, '..', 'fixtures', 'apps', 'probe');
const quiet = (): undefined => undefined;
const quietLogger = { info: quiet, warn: quiet, error: quiet, debug: quiet } as never;
const base = mkdtempSync(join(tmpdir(), 'bgt-control-'));
after(() => rmSync(base, { recursive: true, force: true }));
let homes = 0;

async function startDaemon(): Promise<Daemon> {
  const home = join(base, `h${homes++}`);
  return Daemon.start({ home, httpPort: null }, { logger: quietLogger, cpuMeter: null, desktop: null });
}

async function refusal(work: Promise<unknown>): Promise<{ code: unknown; field: unknown; message: string }> {
  try {
    await work;
  } catch (error) {
    const { code, field } = error as { code?: unknown; field?: unknown };
    return { code, field, message: error instanceof Error ? error.message : String(error) };
  }
  assert.fail('expected a refusal');
}

describe('the control surface', () => {
  it("pairs every spec with a handler by name (watch is the connection's own)", async () => {
    await using daemon = await startDaemon();
    const specs = Object.keys(CONTROL_COMMANDS)
      .filter((name) => name !== 'watch')
      .sort();
    assert.deepEqual([...daemon.control.names].sort(), specs);
    for (const [name, spec] of Object.entries(CONTROL_COMMANDS)) assert.equal(spec.name, name);
    assert.equal(isControlName('why.app'), true);
    assert.equal(isControlName('toString'), false);
  });

  it('checks arguments at the boundary and names the field at fault', async () => {
    await using daemon = await startDaemon();
    const badApp = await refusal(daemon.control.run('pending', { appId: 'not a name!' }));
    assert.deepEqual([badApp.code, badApp.field], ['invalidArgument', 'appId']);
    const badLimit = await refusal(daemon.control.run('history', { limit: 0 }));
    assert.deepEqual([badLimit.code, badLimit.field], ['invalidArgument', 'limit']);
    const stray = await refusal(daemon.control.run('status', { verbose: true }));
    assert.equal(stray.code, 'invalidArgument');
    const both = await refusal(daemon.control.run('enable', { appId: 'com.test.probe', all: true }));
    assert.deepEqual([both.code, both.field], ['invalidArgument', 'appId']);
    const inherited = await refusal(daemon.control.run('constructor', {}));
    assert.deepEqual([inherited.code, inherited.field], ['unknownCommand', 'command']);
    assert.match(inherited.message, /known: .*why\.app/);
  });

  it('carries typed arguments and results over the socket', async () => {
    await using daemon = await startDaemon();
    await using client = await ControlClient.connect(daemon.socketPath);
    const installed = await client.call('install', { dir: PROBE_APP });
    assert.equal(installed.appId, 'com.test.probe');
    assert.equal(installed.reinstalled, false);
    assert.equal('credentialHash' in installed, false, 'the credential hash stays in the daemon');
    const [app] = await client.call('apps', {});
    assert.equal(app?.appId, 'com.test.probe');
    assert.equal(app?.pending, 0);
    const args = { appId: 'com.test.probe', identifier: 'com.test.probe.refresh' };
    const why: ControlResult<'why'> = await client.call('why', args);
    assert.equal(why.state, 'none');
    assert.equal(why.storeFault, null);
    const set = await client.call('conditions.set', { assignments: ['power=battery'] });
    assert.equal(set.conditions.power, 'battery');
    assert.equal(set.origins.power, 'override');
    assert.deepEqual(set.overrides, { power: 'battery' });
    const history = await client.call('history', { appId: 'com.test.probe', events: true });
    assert.ok(history.length > 0);

    if (process.env.BGTASKS_NEVER_SET_THIS) {
      // Never run: what must not compile.
      // @ts-expect-error an unknown command
      await client.call('nosuch', {});
      // @ts-expect-error an argument of the wrong type
      await client.call('pending', { appId: 1 });
      // @ts-expect-error a required argument left out
      await client.call('why', { appId: 'com.test.probe' });
      // @ts-expect-error a result field that does not exist
      void (await client.call('status', {})).nosuch;
    }
  });
});
