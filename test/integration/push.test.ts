import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { ROOT, TestHome, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * Background pushes against a real daemon, its real HTTP endpoint, a real SQLite file and a real app
 * process: the forum's two-at-once case, a burst of 1,000 with the daemon killed (SIGKILL) in the
 * middle, and bad requests that must be refused with nothing stored.
 */
const SINK = join(ROOT, 'test', 'fixtures', 'apps', 'push-sink');
const APP = 'com.test.pushsink';

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function post(port: number, path: string, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }),
        );
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

interface Delivery {
  readonly kind: 'begin' | 'end';
  readonly id: string;
  readonly attempt: number;
  readonly n: number | null;
}

function deliveries(home: TestHome): Delivery[] {
  const file = join(home.probeDir, 'pushes.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, id, attempt, data] = line.split(' ');
      return {
        kind: kind as Delivery['kind'],
        id: id!,
        attempt: Number(attempt ?? 0),
        n: data ? ((JSON.parse(data) as { n?: number }).n ?? null) : null,
      };
    });
}

describe('background pushes (real daemon)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let port = 0;
  let token = '';
  const push = (body: unknown, auth = token): Promise<Answer> =>
    post(port, `/v1/apps/${APP}/push`, { authorization: `Bearer ${auth}` }, JSON.stringify(body));

  before(async () => {
    daemon = await home.startDaemon();
    assert.equal((await home.cli('install', SINK)).code, 0);
    token = (await home.cli('apps', 'token', APP)).stdout.trim();
    port = readDashboardFile(home.home)!.port;
  });
  after(async () => {
    await daemon[Symbol.asyncDispose]();
    home.cleanup();
  });

  it(
    'refuses a bad token (401), an oversized body (413) and a malformed one (400, ' +
      'with the field), and stores none',
    async () => {
      assert.equal((await push({ data: { n: 0 } }, 'not-the-token-of-this-app')).status, 401);
      const noBearer = await post(port, `/v1/apps/${APP}/push`, {}, JSON.stringify({ data: {} }));
      assert.equal(noBearer.status, 401);
      assert.equal(
        (await post(port, '/v1/apps/com.test.nobody/push', { authorization: `Bearer ${token}` }, '{"data":{}}')).status,
        401,
      );
      // Found by fuzzing: app ids that name Object.prototype's members made the token check throw (a 500).
      for (const appId of ['constructor', 'toString', 'hasOwnProperty'])
        assert.equal(
          (await post(port, `/v1/apps/${appId}/push`, { authorization: `Bearer ${token}` }, '{"data":{}}')).status,
          401,
          appId,
        );
      const tooBig = await push({ data: { blob: 'x'.repeat(5000) } });
      assert.equal(tooBig.status, 413);
      assert.equal((tooBig.body.error as Record<string, unknown>).field, 'data');
      assert.equal(
        (await push({ data: 'y'.repeat(20_000) })).status,
        413,
        'a body over the limit is refused before it is parsed',
      );
      const badPriority = await push({ data: {}, priority: 1 });
      assert.equal(badPriority.status, 400);
      assert.equal((badPriority.body.error as Record<string, unknown>).field, 'priority');
      const noData = await push({ priority: 10 });
      assert.equal((noData.body.error as Record<string, unknown>).field, 'data');
      const unknownField = await push({ data: {}, sound: 'ping' });
      assert.equal(unknownField.status, 400);
      assert.equal(
        (await post(port, `/v1/apps/${APP}/push`, { authorization: `Bearer ${token}` }, '{"data": ')).status,
        400,
      );
      const listed = JSON.parse((await home.cli('pushes', APP, '--json')).stdout) as { pushes: unknown[] };
      assert.deepEqual(listed.pushes, []);
    },
  );

  it('delivers two pushes sent at the same instant to an app that is not running, both, in order', async () => {
    const [first, second] = await Promise.all([push({ data: { n: 1 } }), push({ data: { n: 2 } })]);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const bySeq = [first.body, second.body].sort((a, b) => Number(a.seq) - Number(b.seq)).map((receipt) => receipt.id);
    const ends = await until('both pushes handled', () => {
      const done = deliveries(home).filter((line) => line.kind === 'end');
      return done.length >= 2 ? done : undefined;
    });
    assert.deepEqual(
      ends.map((line) => line.id),
      bySeq,
    );
  });

  it('delivers a burst of 1,000 in order, at least once, through a SIGKILL of the daemon', async () => {
    const before = deliveries(home).length;
    const receipts: { id: string; seq: number }[] = [];
    // Twenty senders at a time, as a server would: each push is answered only once it is stored.
    for (let start = 0; start < 1000; start += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, i) => push({ data: { n: 1000 + start + i } })));
      for (const answer of batch) {
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        receipts.push({ id: String(answer.body.id), seq: Number(answer.body.seq) });
      }
    }
    // Kill the daemon while the app is working through them, then start it again.
    await until('a third of the burst handled', () =>
      deliveries(home)
        .slice(before)
        .filter((line) => line.kind === 'end').length >= 300
        ? true
        : undefined,
    );
    await daemon.kill('SIGKILL');
    const handledAtKill = deliveries(home)
      .slice(before)
      .filter((line) => line.kind === 'end').length;
    assert.ok(handledAtKill < 1000, `the kill came in the middle (${handledAtKill} handled)`);
    daemon = await home.startDaemon();
    port = readDashboardFile(home.home)!.port;

    const ends = await until('all 1,000 handled', () => {
      const done = deliveries(home)
        .slice(before)
        .filter((line) => line.kind === 'end');
      return done.length >= 1000 ? done : undefined;
    });
    const order = [...receipts].sort((a, b) => a.seq - b.seq).map((receipt) => receipt.id);
    assert.deepEqual(
      ends.map((line) => line.id),
      order,
      'every push kept once, in the order it was received',
    );
    // At least once: the only push handed over twice is the one whose completion the kill cut off, and
    // it came back with the same id and a higher attempt (the app dropped it by its id).
    const begins = deliveries(home)
      .slice(before)
      .filter((line) => line.kind === 'begin');
    const attemptsById = new Map<string, number[]>();
    for (const line of begins) attemptsById.set(line.id, [...(attemptsById.get(line.id) ?? []), line.attempt]);
    const handedTwice = [...attemptsById.values()].filter((attempts) => attempts.length > 1);
    assert.ok(
      handedTwice.length <= 1,
      `at most the one push in flight at the kill is handed over again, got ` + `${handedTwice.length}`,
    );
    for (const attempts of attemptsById.values()) {
      assert.ok(
        attempts.every((attempt, index) => index === 0 || attempt > attempts[index - 1]!),
        `a repeat comes with a higher attempt: ${attempts.join(', ')}`,
      );
    }
    assert.equal(attemptsById.size, 1000);
    const counts = JSON.parse((await home.cli('pushes', APP, '--json', '--limit', '1')).stdout) as {
      counts: Record<string, number>;
    };
    assert.equal(counts.counts.delivered, 1002);
    assert.equal(counts.counts.pending, 0);
  });
});
