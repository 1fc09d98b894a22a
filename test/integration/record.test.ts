import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { describeDuration, parseDuration, parseInterval, runRecordCommand } from '../../src/cli/recordCommand.js';
import type { Sensors } from '../../src/conditions/sensors.js';
import { loadTrace, type ConditionsTrace } from '../../src/conditions/trace.js';
import { CONDITION_NAMES, type Conditions } from '../../src/engine/conditions.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { CLI, run, type RunResult } from '../support/daemonProcess.js';

/**
 * `bgtasks conditions record` on this machine, with its real sensors (in a container they report what
 * they can; the rest is recorded as defaults). Real time, so each run is short: about 2 s in all.
 */
describe('bgtasks conditions record', { concurrency: true }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-record-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function assertMachineTrace(trace: ConditionsTrace): void {
    assert.equal(trace.host.platform, process.platform);
    assert.equal(trace.host.hostname, undefined, 'no hostname unless --hostname');
    assert.ok(trace.samples.length >= 1);
    assert.ok(trace.samples[0]!.at >= trace.startedAt);
    for (const sample of trace.samples) {
      for (const name of CONDITION_NAMES)
        assert.notEqual(sample.origins[name], 'override', 'a trace records the machine, not overrides');
    }
  }

  /** Starts a recording without a duration, waits for its first sample, then presses Ctrl-C. */
  function interrupted(out: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'conditions', 'record', '--out', out, '--interval', '200'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let pressed = false;
      const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (!pressed && / start /.test(stdout)) {
          pressed = true;
          child.kill('SIGINT');
        }
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
    assert.match(result.stdout, /recorded [\d.]+m?s: \d+ samples? \(/);
    const trace = await loadTrace(out);
    assertMachineTrace(trace);
    // Wall-clock times: not compared with the duration (measured in monotonic time), which the summary says.
    assert.ok(trace.endedAt !== undefined && trace.endedAt >= trace.samples[trace.samples.length - 1]!.at);
    assert.equal(
      lines.filter((line) => / change {2}/.test(line)).length,
      trace.samples.length - 1,
      'a line per change',
    );
    assert.ok(!existsSync(`${out}.tmp`));

    assert.equal(stopped.code, 0, `Ctrl-C stops cleanly: ${stopped.stderr}`);
    assert.match(stopped.stdout, /recorded /);
    const kept = await loadTrace(interruptedOut);
    assertMachineTrace(kept);
    assert.ok(kept.endedAt !== undefined);
  });

  it(
    'rejects a bad duration, interval or directory with exit 2, before recording ' +
      'anything; --json prints the summary',
    async () => {
      const out = join(dir, 'never.json');
      const jsonOut = join(dir, 'json.json');
      const [badDuration, badInterval, noDir, json] = await Promise.all([
        run(process.execPath, [CLI, 'conditions', 'record', '--out', out, '--duration', '10 parsecs']),
        run(process.execPath, [CLI, 'conditions', 'record', '--out', out, '--interval', '10']),
        run(process.execPath, [
          CLI,
          'conditions',
          'record',
          '--out',
          join(dir, 'missing', 'x.json'),
          '--duration',
          '1s',
        ]),
        run(process.execPath, [
          CLI,
          'conditions',
          'record',
          '--out',
          jsonOut,
          '--duration',
          '300',
          '--interval',
          '100',
          '--json',
        ]),
      ]);
      assert.equal(badDuration.code, 2);
      assert.match(badDuration.stderr, /invalid duration "10 parsecs".*\(field: duration\) \[invalidArgument\]/);
      assert.equal(badInterval.code, 2);
      assert.match(badInterval.stderr, /field: interval/);
      assert.equal(noDir.code, 2);
      assert.match(noDir.stderr, /field: out/);
      assert.equal(existsSync(out), false);

      assert.equal(json.code, 0, json.stderr);
      const summary = json.json<{
        out: string;
        samples: number;
        changes: number;
        stoppedBy: string;
        durationMs: number;
      }>();
      assert.equal(summary.out, jsonOut);
      assert.equal(summary.stoppedBy, 'duration');
      assert.ok(summary.durationMs >= 0);
      assert.equal(summary.samples, (await loadTrace(jsonOut)).samples.length);
    },
  );

  it('parses durations and intervals', () => {
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('90m'), 5_400_000);
    assert.equal(parseDuration('3600s'), 3_600_000);
    assert.equal(parseDuration('1500ms'), 1_500);
    assert.equal(parseDuration('1500'), 1_500);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    for (const bad of ['', '0', '0s', '-5m', '5 minutes', 'h', '1e3', '24H']) {
      assert.throws(() => parseDuration(bad), { name: 'CliError', code: 'invalidArgument', field: 'duration' }, bad);
    }
    assert.equal(parseInterval('200'), 200);
    for (const bad of ['99', '1.5', '1s', ''])
      assert.throws(() => parseInterval(bad), { code: 'invalidArgument', field: 'interval' }, bad);
    assert.equal(describeDuration(1_500), '1.5s');
    assert.equal(describeDuration(5_400_000), '1h30m');
    assert.equal(describeDuration(86_400_000), '1d');
  });

  it('prints a line per change with the fields that changed, and a summary (virtual time)', async () => {
    let next: Partial<Conditions> = { power: 'ac', network: 'online' };
    const sensors: Sensors = { read: () => Promise.resolve({ ...next }) };
    const clock = new VirtualClock();
    let stdout = '';
    const listeners = new Map<string, () => void>();
    const signals = {
      on: (event: string, listener: () => void) => void listeners.set(event, listener),
      off: (event: string) => void listeners.delete(event),
    } as unknown as Pick<NodeJS.Process, 'on' | 'off'>;
    const out = join(dir, 'virtual.json');
    const done = runRecordCommand(
      { out, interval: '1000' },
      { sensors, clock, signals, stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true } },
    );
    await clock.advanceBy(1_500);
    next = { power: 'battery', batteryLevel: 50, network: 'online' };
    await clock.advanceBy(1_000);
    listeners.get('SIGINT')!(); // Ctrl-C
    await done;
    assert.equal(listeners.size, 0, 'the signal handlers are removed');
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /until Ctrl-C/);
    assert.match(lines[1]!, /^\d\d:\d\d:\d\d {2}start {3}power=ac batteryLevel=null\(default\) .*network=online /);
    assert.match(lines[2]!, /^\d\d:\d\d:\d\d {2}change {2}power=battery batteryLevel=50$/);
    assert.match(lines[3]!, /^recorded 2\.5s: 2 samples \(1 change: power 1, batteryLevel 1\) in /);
    assert.equal((await loadTrace(out)).samples.length, 2);
  });
});
