/**
 * The doctor's report (src/cli/doctor/report.ts) and its check helpers (src/cli/doctor/checks.ts):
 * grouping, fix lines, the summary, and a check that throws becoming a `fail`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fail, guarded, ok, shellQuote, warn, withTimeout, type Check } from '../../src/cli/doctor/checks.js';
import { renderReport, summarize } from '../../src/cli/doctor/report.js';

describe('doctor report', () => {
  const checks: Check[] = [
    ok('daemon.running', 'daemon', 'a daemon answers'),
    warn('sensors.power', 'sensors', 'power is unknown', 'nothing to fix'),
    fail('permissions.home', 'permissions', '/h is 0755, not 0700', 'chmod 700 /h'),
  ];

  it('summarizes by status; the worst one decides', () => {
    assert.deepEqual(summarize(checks), { ok: 1, warn: 1, fail: 1, status: 'fail' });
    assert.deepEqual(summarize(checks.slice(0, 2)), { ok: 1, warn: 1, fail: 0, status: 'warn' });
    assert.deepEqual(summarize([]), { ok: 0, warn: 0, fail: 0, status: 'ok' });
  });

  it('prints the groups in a fixed order, a fix under each warning and failure, and the summary', () => {
    const text = renderReport({ home: '/h', checks, summary: summarize(checks) });
    const lines = text.split('\n');
    assert.deepEqual(
      lines.filter((text) => /^[A-Z]/.test(text)),
      ['Daemon', 'Permissions', 'Sensors'],
    );
    assert.equal(lines[lines.indexOf('  fail  /h is 0755, not 0700') + 1], '        fix: chmod 700 /h');
    assert.ok(!text.includes('fix: undefined'));
    assert.match(lines.at(-1)!, /^1 ok, 1 warning, 1 failure: fix the failures above$/);
  });

  it('turns a check that throws into a fail naming the error', async () => {
    const result = await guarded<{ checks: Check[]; apps?: string[] }>(
      'store.open',
      'store',
      () => {
        throw new Error('boom');
      },
      {},
    );
    assert.equal(result.checks.length, 1);
    assert.equal(result.checks[0]!.status, 'fail');
    assert.match(result.checks[0]!.detail, /the check itself failed: boom/);
  });

  it('gives up on work that does not finish in time', async () => {
    await assert.rejects(withTimeout(new Promise(() => {}), 20, 'too slow'), /too slow/);
    assert.equal(await withTimeout(Promise.resolve(7), 1000, 'never'), 7);
  });

  it('quotes words for the shell only when needed', () => {
    assert.equal(shellQuote('/home/ana/.local/state/bgtasks'), '/home/ana/.local/state/bgtasks');
    assert.equal(shellQuote("/tmp/it's here"), `'/tmp/it'\\''s here'`);
  });
});
