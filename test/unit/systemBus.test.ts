import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DBusError, type DBusConnection, type DBusSignal } from '../../src/conditions/dbusConnection.js';
import { nameOwnerChangedRule, propertiesChangedRule, SystemBus } from '../../src/conditions/systemBus.js';

/** A callback that must not be called. */
function unexpected(value?: unknown): never {
  assert.fail(`unexpected call${value === undefined ? '' : `: ${String(value)}`}`);
}

/** Just the parts of a DBusConnection that SystemBus uses, scripted. */
class FakeConnection {
  closed = false;
  matches: string[] = [];
  properties = new Map<string, unknown>();
  readonly #signal = new Set<(signal: DBusSignal) => void>();
  readonly #close = new Set<() => void>();

  async getProperty(destination: string, _path: string, _iface: string, name: string): Promise<unknown> {
    const key = `${destination} ${name}`;
    if (!this.properties.has(key))
      throw new DBusError('org.freedesktop.DBus.Error.NameHasNoOwner', `no ${destination}`);
    return this.properties.get(key);
  }
  async addMatch(rule: string): Promise<void> {
    this.matches.push(rule);
  }
  onSignal(listener: (signal: DBusSignal) => void) {
    this.#signal.add(listener);
    return { dispose: () => void this.#signal.delete(listener) };
  }
  onClose(listener: () => void) {
    this.#close.add(listener);
    return { dispose: () => void this.#close.delete(listener) };
  }
  emit(signal: DBusSignal): void {
    for (const listener of this.#signal) listener(signal);
  }
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.#close) listener();
  }
}

function setup(script: Array<FakeConnection | Error>) {
  let time = 0;
  const attempts: string[] = [];
  const bus = new SystemBus({
    address: 'unix:path=/fake',
    retryMs: 60_000,
    now: () => time,
    connect: async (address) => {
      attempts.push(address);
      const next = script.shift() ?? new Error('connect ENOENT');
      if (next instanceof Error) throw next;
      return next as unknown as DBusConnection;
    },
  });
  return { bus, attempts, advance: (ms: number) => (time += ms) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('SystemBus', () => {
  it('reads properties over one lazily opened connection', async () => {
    const connection = new FakeConnection();
    connection.properties.set('org.freedesktop.NetworkManager Metered', 4);
    const { bus, attempts } = setup([connection]);
    assert.equal(attempts.length, 0, 'nothing is opened before the first read');
    assert.equal(
      await bus.getProperty('org.freedesktop.NetworkManager', '/', 'org.freedesktop.NetworkManager', 'Metered'),
      4,
    );
    assert.equal(
      await bus.getProperty('org.freedesktop.NetworkManager', '/', 'org.freedesktop.NetworkManager', 'Metered'),
      4,
    );
    assert.equal(attempts.length, 1);
  });

  it('resolves undefined for an error reply instead of rejecting', async () => {
    const { bus } = setup([new FakeConnection()]);
    assert.equal(await bus.getProperty('org.freedesktop.login1', '/', 'x', 'IdleHint'), undefined);
  });

  it('backs off after a failed connect: one attempt per retry period', async () => {
    const connection = new FakeConnection();
    connection.properties.set('a IdleHint', true);
    const { bus, attempts, advance } = setup([new Error('connect ENOENT'), connection]);
    assert.equal(await bus.getProperty('a', '/', 'i', 'IdleHint'), undefined);
    advance(59_999);
    assert.equal(await bus.getProperty('a', '/', 'i', 'IdleHint'), undefined);
    assert.equal(attempts.length, 1);
    advance(1);
    assert.equal(await bus.getProperty('a', '/', 'i', 'IdleHint'), true);
    assert.equal(attempts.length, 2);
  });

  it('reconnects after the connection closes (the bus restarted)', async () => {
    const first = new FakeConnection();
    const second = new FakeConnection();
    second.properties.set('a p', 'again');
    const { bus, attempts } = setup([first, second]);
    await bus.getProperty('a', '/', 'i', 'p');
    first.dispose();
    assert.equal(await bus.getProperty('a', '/', 'i', 'p'), 'again');
    assert.equal(attempts.length, 2);
  });

  it('adds the rules on subscribe and after a reconnect, and forwards signals except its own name', async () => {
    const first = new FakeConnection();
    const second = new FakeConnection();
    const { bus } = setup([first, second]);
    const signals: DBusSignal[] = [];
    const subscription = bus.subscribe(['rule-a', 'rule-b'], (signal) => signals.push(signal), unexpected);
    await flush();
    assert.deepEqual(first.matches, ['rule-a', 'rule-b']);

    first.emit({ sender: 'org.freedesktop.DBus', member: 'NameAcquired', body: [':1.5'] });
    first.emit({ sender: ':1.3', member: 'PropertiesChanged', body: [] });
    assert.deepEqual(
      signals.map((signal) => signal.member),
      ['PropertiesChanged'],
    );

    first.dispose();
    await bus.getProperty('a', '/', 'i', 'p');
    await flush();
    assert.deepEqual(second.matches, ['rule-a', 'rule-b']);

    // The last subscriber leaving closes the connection.
    subscription.dispose();
    assert.equal(second.closed, true);
  });

  it('tells each subscriber once that the bus is unavailable, also when a read failed first', async () => {
    const { bus, advance } = setup([new Error('connect ENOENT'), new Error('connect ENOENT again')]);
    await bus.getProperty('a', '/', 'i', 'p');
    const errors: unknown[] = [];
    bus.subscribe(['rule'], unexpected, (error) => errors.push(error));
    await flush();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /ENOENT/);

    advance(60_000);
    await bus.getProperty('a', '/', 'i', 'p');
    await flush();
    assert.equal(errors.length, 1, 'a second failure is not reported again');
  });
});

describe('match rules', () => {
  it('builds PropertiesChanged and NameOwnerChanged rules', () => {
    assert.equal(
      propertiesChangedRule('org.freedesktop.NetworkManager', { path: '/org/freedesktop/NetworkManager' }),
      "type='signal',sender='org.freedesktop.NetworkManager',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path='/org/freedesktop/NetworkManager'",
    );
    assert.match(
      propertiesChangedRule('org.freedesktop.login1', { pathNamespace: '/org/freedesktop/login1' }),
      /path_namespace='\/org\/freedesktop\/login1'$/,
    );
    assert.equal(
      nameOwnerChangedRule('org.freedesktop.login1'),
      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.freedesktop.login1'",
    );
  });
});
