import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import {
  NullCpuMeter,
  ProcCpuMeter,
  PsCpuMeter,
  createCpuMeter,
  parseProcStatTicks,
  parsePsCpuTime,
  readClockTicks,
} from '../../src/daemon/cpuMeter.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-cpu-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** A stat line as the kernel prints it: pid (comm) state, then fields 4.. ; utime..cstime are 14–17. */
function statLine(pid: number, comm: string, [utime, stime, cutime, cstime]: number[]): string {
  const rest = ['S', 1, pid, pid, 0, -1, 4194560, 100, 0, 0, 0, utime, stime, cutime, cstime, 20, 0, 1, 0, 12345];
  return `${pid} (${comm}) ${rest.join(' ')}\n`;
}

function fakeProc(entries: Record<number, string>): string {
  const root = mkdtempSync(join(base, 'proc-'));
  for (const [pid, stat] of Object.entries(entries)) {
    mkdirSync(join(root, pid));
    writeFileSync(join(root, pid, 'stat'), stat);
  }
  return root;
}

describe('parseProcStatTicks', () => {
  it('sums utime, stime, cutime and cstime counted from the last parenthesis', () => {
    assert.equal(parseProcStatTicks(statLine(42, 'node', [150, 50, 20, 30])), 250);
    assert.equal(parseProcStatTicks(statLine(42, 'my app) S 1 2 3 (x', [1, 2, 3, 4])), 10);
  });

  it('returns null for text that is not a stat line', () => {
    assert.equal(parseProcStatTicks(''), null);
    assert.equal(parseProcStatTicks('42 (node) S 1 2'), null);
    assert.equal(parseProcStatTicks(statLine(42, 'node', [1, 2, Number.NaN, 4])), null);
  });
});

describe('ProcCpuMeter', () => {
  it('reads a fake /proc tree in ms, with the clock tick given or from getconf', () => {
    const root = fakeProc({
      100: statLine(100, 'worker', [150, 50, 20, 30]),
      200: statLine(200, 'a (weird) name) R 9 9', [7, 3, 0, 0]),
      300: 'garbage',
    });
    const meter = new ProcCpuMeter({ procRoot: root, clockTicks: 100 });
    assert.equal(meter.cpuTimeMs(100), 2500);
    assert.equal(meter.cpuTimeMs(200), 100);
    assert.equal(new ProcCpuMeter({ procRoot: root, clockTicks: 1000 }).cpuTimeMs(100), 250);
    assert.equal(new ProcCpuMeter({ procRoot: root }).cpuTimeMs(100), (250 * 1000) / readClockTicks());
  });

  it('reads null for gone processes, unreadable stat files and pids that are not pids', () => {
    const meter = new ProcCpuMeter({ procRoot: fakeProc({ 300: 'garbage' }), clockTicks: 100 });
    for (const pid of [999, 300, 0, -1, 1.5, Number.NaN]) assert.equal(meter.cpuTimeMs(pid), null, String(pid));
    assert.equal(new ProcCpuMeter({ procRoot: join(base, 'missing') }).cpuTimeMs(1), null);
  });

  it(
    "sees a real busy child's CPU time grow, and null once it is reaped",
    { skip: process.platform !== 'linux' && 'needs /proc' },
    async () => {
      const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 5000; while (Date.now() < end);'], {
        stdio: 'ignore',
      });
      const gone = new Promise((resolve) => child.once('exit', resolve));
      const meter = new ProcCpuMeter();
      const first = meter.cpuTimeMs(child.pid!);
      assert.notEqual(first, null);
      let later = first!;
      const deadline = Date.now() + 3000;
      while (later <= first! && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        later = meter.cpuTimeMs(child.pid!) ?? later;
      }
      assert.ok(later > first!, `grew from ${first} to ${later}`);
      child.kill('SIGKILL');
      await gone;
      assert.equal(meter.cpuTimeMs(child.pid!), null);
    },
  );
});

describe('parsePsCpuTime', () => {
  it('reads the macOS and procps formats', () => {
    assert.equal(parsePsCpuTime('0:01.23\n'), 1230);
    assert.equal(parsePsCpuTime('  62:03.45'), (62 * 60 + 3.45) * 1000);
    assert.equal(parsePsCpuTime('00:00:01'), 1000);
    assert.equal(parsePsCpuTime('1:02:03.5'), 3723.5 * 1000);
    assert.equal(parsePsCpuTime('1-02:03:04'), (86400 + 7384) * 1000);
  });

  it('returns null for anything else', () => {
    for (const text of ['', '12', 'abc', '1:2:3:4', '-0:01']) assert.equal(parsePsCpuTime(text), null, text);
  });
});

describe('PsCpuMeter and createCpuMeter', () => {
  it('asks ps about a live process and reads null for a gone one or a missing ps', () => {
    assert.equal(typeof new PsCpuMeter().cpuTimeMs(process.pid), 'number');
    assert.equal(new PsCpuMeter().cpuTimeMs(2 ** 22 + 12345), null); // above Linux's pid_max limit
    assert.equal(new PsCpuMeter({ ps: join(base, 'no-ps') }).cpuTimeMs(process.pid), null);
  });

  it('picks procfs on Linux, ps on macOS and nothing elsewhere', () => {
    assert.ok(createCpuMeter('linux') instanceof ProcCpuMeter);
    assert.ok(createCpuMeter('darwin') instanceof PsCpuMeter);
    const none = createCpuMeter('win32');
    assert.ok(none instanceof NullCpuMeter);
    assert.equal(none.cpuTimeMs(process.pid), null);
  });
});
