import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_CONDITIONS, type ConditionsSnapshot } from '../../src/engine/conditions.js';
import {
  parseBusyTicks,
  parseSomeAvg60,
  SustainedPressureMeter,
  sustainedPressure,
} from '../../src/conditions/sustainedPressure.js';

/** A fake procfs: pressure files, /proc/stat and /proc/<pid>/stat, rewritten per sample. */
function fakeProc() {
  const root = mkdtempSync(join(tmpdir(), 'bgtasks-psi-'));
  mkdirSync(join(root, 'pressure'));
  return {
    root,
    pressure(cpuAvg60: number, memoryAvg60 = 0): void {
      writeFileSync(
        join(root, 'pressure', 'cpu'),
        `some avg10=99.00 avg60=${cpuAvg60.toFixed(2)} avg300=0.00 total=1\nfull ` +
          `avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`,
      );
      writeFileSync(
        join(root, 'pressure', 'memory'),
        `some avg10=0.00 avg60=${memoryAvg60.toFixed(2)} avg300=0.00 total=1\n`,
      );
    },
    /** Machine busy ticks (user field) and each process's utime. */
    cpu(busy: number, processes: Record<number, number>): void {
      writeFileSync(join(root, 'stat'), `cpu  ${busy} 0 0 100000 0 0 0 0 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\n`);
      for (const [pid, ticks] of Object.entries(processes)) {
        mkdirSync(join(root, pid), { recursive: true });
        writeFileSync(
          join(root, pid, 'stat'),
          `${pid} (node (app)) S 1 1 1 0 -1 0 0 0 0 0 ${ticks} 0 0 0 20 0 1 0 0 0 0\n`,
        );
      }
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

describe('sustained pressure (issue 17)', () => {
  const proc = fakeProc();
  after(proc.cleanup);

  it('parses avg60 and the busy ticks of /proc/stat', () => {
    assert.equal(parseSomeAvg60('some avg10=3.28 avg60=0.98 avg300=0.79 total=1\n'), 0.98);
    assert.equal(parseSomeAvg60('full avg10=1 avg60=2 avg300=3 total=1'), null);
    assert.equal(parseBusyTicks('cpu  10 1 5 1000 7 2 3 4 0 0\n'), 10 + 1 + 5 + 2 + 3 + 4);
    assert.equal(parseBusyTicks('intr 1 2 3'), null);
  });

  it('judges on avg60, not a burst, and leaves a level only well below its bound', () => {
    const meter = new SustainedPressureMeter(() => [], proc.root);
    proc.cpu(0, {});
    proc.pressure(45); // avg10 says 99 (a burst); avg60 says 45: serious, not critical
    meter.sample(0);
    assert.equal(meter.read().cpu, 'serious');
    proc.pressure(30); // below the bound (40) but above 0.6 of it (24): still serious
    meter.sample(10_000);
    assert.equal(meter.read().cpu, 'serious');
    proc.pressure(20);
    meter.sample(20_000);
    assert.equal(meter.read().cpu, 'fair');
  });

  it("measures the own tasks' share of the machine's busy CPU over the last minute", () => {
    const meter = new SustainedPressureMeter(() => [4001, 4002], proc.root);
    proc.cpu(1_000, { 4001: 100, 4002: 100 });
    meter.sample(0);
    assert.equal(meter.read().ownCpuShare, null, 'one sample tells nothing');
    proc.cpu(2_000, { 4001: 500, 4002: 500 }); // 800 of 1,000 busy ticks were ours
    meter.sample(10_000);
    assert.equal(meter.read().ownCpuShare, 0.8);
    proc.cpu(3_000, { 4001: 550, 4002: 550 }); // 100 of the next 1,000: 900 of 2,000
    meter.sample(20_000);
    assert.equal(meter.read().ownCpuShare, 0.45);
  });

  it('takes a pinned condition as it is, and the quick level where nothing was measured', () => {
    const snapshot = (origin: 'override' | 'sensor'): ConditionsSnapshot => ({
      conditions: { ...DEFAULT_CONDITIONS, cpuPressure: 'nominal', memoryPressure: 'fair', ioPressure: 'nominal' },
      origins: Object.fromEntries(
        Object.keys(DEFAULT_CONDITIONS).map((name) => [name, origin]),
      ) as ConditionsSnapshot['origins'],
      readAt: 0,
    });
    const reading = { cpu: 'critical', memory: null, io: 'nominal', ownCpuShare: 0.1 } as const;
    assert.deepEqual(sustainedPressure(reading, snapshot('override')), {
      cpu: 'nominal',
      memory: 'fair',
      io: 'nominal',
      ownCpuShare: null,
    });
    assert.deepEqual(sustainedPressure(reading, snapshot('sensor')), {
      cpu: 'critical',
      memory: 'fair',
      io: 'nominal',
      ownCpuShare: 0.1,
    });
  });
});
