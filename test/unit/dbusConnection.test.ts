import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  DBusConnection,
  DBusError,
  parseBusAddress,
  systemBusAddress,
  type DBusSignal,
} from '../../src/conditions/dbusConnection.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-dbus-'));
after(() => rmSync(base, { recursive: true, force: true }));

function which(command: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${command}`], (error) => resolve(!error)));
}

describe('parseBusAddress', () => {
  it('takes the first unix path or abstract name, %-decoded', () => {
    assert.equal(parseBusAddress('unix:path=/var/run/dbus/system_bus_socket'), '/var/run/dbus/system_bus_socket');
    assert.equal(parseBusAddress('unix:path=/tmp/a%20b,guid=0123'), '/tmp/a b');
    assert.equal(parseBusAddress('unix:abstract=/tmp/dbus-XYZ'), '\0/tmp/dbus-XYZ');
    assert.equal(parseBusAddress('tcp:host=localhost,port=1;unix:path=/run/bus'), '/run/bus');
  });

  it('returns null when no address is usable', () => {
    assert.equal(parseBusAddress('tcp:host=localhost,port=1'), null);
    assert.equal(parseBusAddress(''), null);
    assert.equal(parseBusAddress('unix:runtime=yes'), null);
  });

  it('reads the system bus address from the environment, else the default', () => {
    assert.equal(systemBusAddress({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/x' }), 'unix:path=/x');
    assert.equal(systemBusAddress({}), 'unix:path=/var/run/dbus/system_bus_socket');
  });
});

describe('DBusConnection.connect failures', () => {
  it('rejects with a connection error when the socket does not exist', async () => {
    await assert.rejects(DBusConnection.connect(`unix:path=${join(base, 'missing.sock')}`), (error: unknown) => {
      assert.ok(error instanceof DBusError);
      assert.equal(error.type, 'connection');
      assert.match(error.message, /ENOENT/);
      return true;
    });
    await assert.rejects(DBusConnection.connect('tcp:host=localhost,port=1'), /No usable unix: address/);
  });

  it('rejects when the server refuses authentication', async () => {
    const path = join(base, 'refusing.sock');
    const server = createServer((socket) => {
      socket.once('data', () => socket.write('REJECTED EXTERNAL\r\n'));
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      await assert.rejects(DBusConnection.connect(`unix:path=${path}`), /authentication refused \(REJECTED EXTERNAL\)/);
    } finally {
      server.close();
    }
  });
});

describe('DBusConnection against a private dbus-daemon', async () => {
  const available = (await which('dbus-daemon')) && (await which('dbus-send'));
  let daemon: ChildProcess | undefined;
  let address = '';

  before(async () => {
    if (!available) return;
    const config = join(base, 'bus.xml');
    writeFileSync(
      config,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=${join(base, 'bus.sock')}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`,
    );
    daemon = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    address = await new Promise<string>((resolve, reject) => {
      daemon!.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      daemon!.once('error', reject);
    });
  });
  after(() => daemon?.kill());

  it(
    'says Hello, calls methods and reads properties',
    { skip: !available && 'dbus-daemon not installed' },
    async () => {
      const connection = await DBusConnection.connect(address);
      try {
        const [id] = await connection.call({
          destination: 'org.freedesktop.DBus',
          path: '/org/freedesktop/DBus',
          interface: 'org.freedesktop.DBus',
          member: 'GetId',
        });
        assert.match(String(id), /^[0-9a-f]{32}$/);
        const features = await connection.getProperty(
          'org.freedesktop.DBus',
          '/org/freedesktop/DBus',
          'org.freedesktop.DBus',
          'Features',
        );
        assert.ok(Array.isArray(features));
      } finally {
        connection.dispose();
      }
    },
  );

  it(
    'rejects with the D-Bus error name for a service that is not there, without ' + 'starting it',
    { skip: !available && 'dbus-daemon not installed' },
    async () => {
      const connection = await DBusConnection.connect(address);
      try {
        await assert.rejects(
          connection.getProperty(
            'org.freedesktop.login1',
            '/org/freedesktop/login1',
            'org.freedesktop.login1.Manager',
            'IdleHint',
          ),
          (error: unknown) => {
            assert.ok(error instanceof DBusError);
            assert.match(error.type, /^org\.freedesktop\.DBus\.Error\.(NameHasNoOwner|ServiceUnknown)$/);
            return true;
          },
        );
      } finally {
        connection.dispose();
      }
    },
  );

  it(
    'delivers signals matching a rule it added, and rejects calls after dispose',
    { skip: !available && 'dbus-daemon not installed' },
    async () => {
      const connection = await DBusConnection.connect(address);
      await connection.addMatch("type='signal',interface='org.freedesktop.login1.Manager'");
      const received = new Promise<DBusSignal>((resolve) =>
        connection.onSignal((signal) => signal.member === 'PrepareForSleep' && resolve(signal)),
      );
      const closed = new Promise<void>((resolve) => connection.onClose(resolve));
      await new Promise<void>((resolve, reject) =>
        execFile(
          'dbus-send',
          [
            `--bus=${address}`,
            '--type=signal',
            '/org/freedesktop/login1',
            'org.freedesktop.login1.Manager.PrepareForSleep',
            'boolean:false',
          ],
          (error) => (error ? reject(error) : resolve()),
        ),
      );
      const signal = await received;
      assert.equal(signal.path, '/org/freedesktop/login1');
      assert.deepEqual(signal.body, [false]);

      connection.dispose();
      await closed;
      assert.equal(connection.closed, true);
      await assert.rejects(
        connection.getProperty('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Features'),
        /closed/,
      );
    },
  );

  it(
    'does not keep a process alive while idle',
    { skip: !available && 'dbus-daemon not installed', timeout: 20_000 },
    async () => {
      const module = fileURLToPath(new URL('../../src/conditions/dbusConnection.ts', import.meta.url));
      const script =
        `import { DBusConnection } from ${JSON.stringify(module)}; await ` +
        `DBusConnection.connect(${JSON.stringify(address)}); ` +
        `console.log('connected');`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(output.trim(), 'connected');
      assert.equal(code, 0);
    },
  );
});
