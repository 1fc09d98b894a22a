import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDashboardFile, type DashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { ROOT, TestHome, until, type DaemonProcess } from '../support/daemonProcess.js';
import { CITIZEN_DIR, citizenRuns } from '../support/citizen.js';

const SINK_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'push-sink');
const SINK_ID = 'com.test.pushsink';

/** Descriptors the process holds now. */
function descriptorsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Another local user with no token opens HTTP connections until the daemon runs out of descriptors
 * (issue 17, item 7). Here: 20,000 of them (half send half a request, half nothing), while an app still
 * submits and runs, the CLI still answers, and the daemon's descriptors stay far below its limit.
 */
describe('HTTP connection flood (real daemon)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let dashboard: DashboardFile;

  before(async () => {
    daemon = await home.startDaemon(['--option', 'profile=server'], { BGTASKS_HTTP_LIMITS_REQUEST_TIMEOUT_MS: '2000' });
    assert.equal((await home.cli('install', CITIZEN_DIR)).code, 0);
    assert.equal((await home.cli('install', SINK_DIR)).code, 0);
    dashboard = readDashboardFile(home.home)!;
  });
  after(async () => {
    await daemon[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('20,000 connections without a token: the daemon keeps its descriptors, apps and the CLI are served', async () => {
    const pid = daemon.child.pid!;
    const open = new Set<Socket>();
    let most = descriptorsOf(pid);
    try {
      // Bounded: 40 batches of 500, each waited for (connected, or closed by the daemon).
      for (let batch = 0; batch < 40; batch++) {
        const waits: Promise<void>[] = [];
        for (let i = 0; i < 500; i++) {
          const socket = connect(dashboard.port, '127.0.0.1');
          open.add(socket);
          socket.on('error', () => undefined);
          socket.once('close', () => open.delete(socket));
          waits.push(
            new Promise((resolve) => {
              socket.once('connect', () => {
                if (i % 2 === 0) socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // headers never end
                resolve();
              });
              socket.once('close', () => resolve());
            }),
          );
        }
        await Promise.all(waits);
        most = Math.max(most, descriptorsOf(pid));
      }
      const status = await home.cli('status');
      assert.equal(status.code, 0, status.stderr);
      await citizenRuns(home, 'com.test.chaos.job.during-http-flood');
      most = Math.max(most, descriptorsOf(pid));
      assert.ok(most < 1_000, `the daemon held ${most} descriptors at most`);
      assert.match(daemon.log, /HTTP connections/, 'the refusals are logged');
      const lines = daemon.log.split('\n').filter((line) => line.includes('HTTP connections')).length;
      assert.ok(lines <= 10, `${lines} log lines for 20,000 refusals: rate-limited`);
    } finally {
      for (const socket of open) socket.destroy();
    }
    // The dashboard itself is still served to a client with the token.
    const snapshot = await fetch(new URL('/v1/snapshot', dashboard.url), {
      headers: { Authorization: `Bearer ${dashboard.token}` },
    });
    assert.equal(snapshot.status, 200);
  });

  it('closes a push whose body never finishes, even from a sender with a valid token', async () => {
    const token = (await home.cli('apps', 'token', SINK_ID)).stdout.trim();
    assert.ok(token.length > 16);
    const socket = connect(dashboard.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `POST /v1/apps/${SINK_ID}/push HTTP/1.1\r\nHost: ` +
        `127.0.0.1:${dashboard.port}\r\nAuthorization: Bearer ` +
        `${token}\r\nContent-Type: application/json\r\nContent-Length: ` +
        `1000\r\n\r\n{"data":`,
    );
    await until('the daemon to close the stalled push', () =>
      socket.destroyed || socket.readableEnded ? true : undefined,
    );
    assert.match(answer, /^HTTP\/1\.1 408/);
    socket.destroy();
  });
});
