/**
 * What the daemon costs while idle: CPU time and wake-ups over a real window (default 60 s) with nothing
 * due, against the floor of a bare Node process that only wakes at the same interval as the daemon's
 * sensor poll. Both run side by side in one run; the report gives the ratio.
 *
 *   npm run build && npm run bench:idle [-- --seconds 60]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' } } });
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds < 5)
  throw new TypeError(`Expected --seconds to be a number >= 5, got ${values.seconds}`);
const TICKS = 100; // CLK_TCK on Linux

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

function wakeups(pid: number): number {
  // Voluntary context switches: every time the process slept and was woken.
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

function started(child: ChildProcess, marker: string | null): Promise<void> {
  if (marker === null) return new Promise((resolvePromise) => setTimeout(resolvePromise, 500));
  return new Promise((resolvePromise, reject) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (!log.includes(marker)) return;
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      resolvePromise();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${log}`)));
  });
}

async function measure(name: string, child: ChildProcess, marker: string | null) {
  await started(child, marker);
  await new Promise((resolvePromise) => setTimeout(resolvePromise, 3_000)); // start-up settles
  const pid = child.pid!;
  const [cpu0, wake0] = [cpuMs(pid), wakeups(pid)];
  await new Promise((resolvePromise) => setTimeout(resolvePromise, seconds * 1000));
  const [cpu1, wake1] = [cpuMs(pid), wakeups(pid)];
  child.kill('SIGTERM');
  const cpu = cpu1 - cpu0;
  return {
    name,
    cpuMs: cpu,
    cpuPercent: (cpu / (seconds * 1000)) * 100,
    wakeupsPerMinute: ((wake1 - wake0) * 60) / seconds,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'bgt-bench-idle-'));
try {
  const daemon = spawn(process.execPath, [CLI, '--home', join(dir, 'h'), 'daemon'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 5000)'], { stdio: 'ignore' });
  const [ours, bare] = await Promise.all([
    measure('bgtasks daemon (real sensors, 5 s poll)', daemon, 'listening'),
    measure('bare node, one 5 s timer (floor)', floor, null),
  ]);
  const rows = [ours, bare];
  console.log(`idle for ${seconds} s, side by side\n`);
  console.log(
    `${'process'.padEnd(42)} ${'CPU ms'.padStart(8)} ` + `${'% of a core'.padStart(12)} ${'wake-ups/min'.padStart(13)}`,
  );
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(42)} ${row.cpuMs.toFixed(0).padStart(8)} ` +
        `${row.cpuPercent.toFixed(3).padStart(12)} ` +
        `${row.wakeupsPerMinute.toFixed(0).padStart(13)}`,
    );
  }
  const ratio = bare.cpuMs > 0 ? ours.cpuMs / bare.cpuMs : Infinity;
  const cpuRatio = Number.isFinite(ratio) ? `${ratio.toFixed(1)}x` : 'n/a (the floor used no measurable CPU)';
  console.log(
    `\ndaemon / floor: CPU ${cpuRatio}, wake-ups ` +
      `${(ours.wakeupsPerMinute / Math.max(1, bare.wakeupsPerMinute)).toFixed(1)}x`,
  );
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench', 'results', 'idle.json'),
    `${JSON.stringify({ seconds, rows, at: new Date().toISOString() }, null, 2)}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
