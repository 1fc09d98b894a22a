import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { loadTrace, type ConditionsTrace } from '../../src/conditions/trace.js';
import { CONDITION_NAMES } from '../../src/engine/conditions.js';
import { CLI, run, type RunResult } from '../support/daemonProcess.js';

/**
 * `bgtasks conditions record` on this machine, with its real sensors (in a container they report what
 * they can; the rest is recorded as defaults). Real time, so each run is short: about 2 s in all.
 */
describe('bgtasks conditions record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-record-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function assertMachineTrace(trace: ConditionsTrace): void {
    assert.equal(trace.host.platform, process.platform);
    assert.equal(trace.host.hostname, undefined, 'no hostname unless --hostname');
    assert.ok(trace.samples.length >= 1);
    assert.ok(trace.samples[0]!.at >= trace.startedAt);
    for (const sample of trace.samples) {
      for (const name of CONDITION_NAMES) assert.notEqual(sample.origins[name], 'override', 'a trace records the machine, not overrides');
    }
  }

  /** Starts a recording without a duration, waits for its first sample, then presses Ctrl-C. */
  function interrupted(out: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'conditions', 'record', '--out', out, '--interval', '200'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (/ start /.test(stdout)) child.kill('SIGINT');
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(guard);
        resolve({ code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
      });
    });
  }

  it('records for --duration, prints the start, each change and a summary, and leaves a valid trace', async () => {
    const out = join(dir, 'timed.json');
    const interruptedOut = join(dir, 'interrupted.json');
    // Both real-time runs at once, to keep the test short.
    const [result, stopped] = await Promise.all([
      run(process.execPath, [CLI, 'conditions', 'record', '--out', out, '--duration', '1500ms', '--interval', '200']),
      interrupted(interruptedOut),
    ]);

    assert.equal(result.code, 0, `exit 0 (is \`conditions record\` registered in src/cli/main.ts?): ${result.stderr}`);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0]!, /^recording to .*timed\.json: sensors read every 200 ms/);
    assert.match(lines[1]!, /^\d\d:\d\d:\d\d {2}start {3}power=\S+ batteryLevel=\S+ lowPowerMode=/);
    assert.match(result.stdout, /recorded 1\.\ds: \d+ samples? \(/);
    const trace = await loadTrace(out);
    assertMachineTrace(trace);
    assert.ok(trace.endedAt !== undefined && trace.endedAt - trace.startedAt >= 1_500, `ran for its duration: ${JSON.stringify(trace)}`);
    assert.equal(lines.filter((line) => / change {2}/.test(line)).length, trace.samples.length - 1, 'a line per change');
    assert.ok(!existsSync(`${out}.tmp`));

    assert.equal(stopped.code, 0, `Ctrl-C stops cleanly: ${stopped.stderr}`);
    assert.match(stopped.stdout, /recorded /);
    const kept = await loadTrace(interruptedOut);
    assertMachineTrace(kept);
    assert.ok(kept.endedAt !== undefined);
  });

  it('rejects a bad duration or interval with exit 2, before recording anything', async () => {
    const out = join(dir, 'never.json');
    const badDuration = await run(process.execPath, [CLI, 'conditions', 'record', '--out', out, '--duration', '10 parsecs']);
    assert.equal(badDuration.code, 2);
    assert.match(badDuration.stderr, /invalid duration "10 parsecs".*\(field: duration\) \[invalidArgument\]/);
    const badInterval = await run(process.execPath, [CLI, 'conditions', 'record', '--out', out, '--interval', '10']);
    assert.equal(badInterval.code, 2);
    assert.match(badInterval.stderr, /field: interval/);
    const noDir = await run(process.execPath, [CLI, 'conditions', 'record', '--out', join(dir, 'missing', 'x.json'), '--duration', '1s']);
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /field: out/);
    assert.equal(existsSync(out), false);
  });
});
