import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import {
  parseSomeAvg10,
  pressureLevel,
  PRESSURE_THRESHOLDS,
  readLinuxPressure,
} from '../../src/conditions/linuxPressure.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-psi-'));
after(() => rmSync(base, { recursive: true, force: true }));

/** A pressure file as the kernel prints it (format captured on a 6.18 kernel). */
function psi(someAvg10: string, fullAvg10 = '0.00'): string {
  return (
    `some avg10=${someAvg10} avg60=0.98 avg300=0.79 total=241513315\nfull ` +
    `avg10=${fullAvg10} avg60=0.00 avg300=0.00 total=0\n`
  );
}

let trees = 0;
/** A fake procfs with `pressure/<resource>` files; a missing key leaves the file out. */
function proc(files: Partial<Record<'cpu' | 'memory' | 'io', string>>): string {
  const root = join(base, `proc-${trees++}`);
  mkdirSync(join(root, 'pressure'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'pressure', name), text);
  return root;
}

describe('parseSomeAvg10', () => {
  it('reads the some line, not the full line', () => {
    assert.equal(parseSomeAvg10(psi('3.28', '99.00')), 3.28);
    assert.equal(parseSomeAvg10('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n'), 0);
    assert.equal(parseSomeAvg10('some avg10=100.00 avg60=1 avg300=1 total=1'), 100);
  });

  it('returns null for malformed text', () => {
    for (const text of [
      '',
      'full avg10=5.00 avg60=0 avg300=0 total=0',
      'some avg60=1.00 total=0',
      'some avg10=abc avg60=0',
      'some avg10=101.00',
      'some avg10=-1.00',
      'some xavg10=5.00',
    ]) {
      assert.equal(parseSomeAvg10(text), null, text);
    }
  });
});

describe('pressureLevel', () => {
  it('maps the bounds inclusively, with lower bounds for memory than for CPU', () => {
    const cpu = PRESSURE_THRESHOLDS.cpu;
    assert.equal(pressureLevel(cpu.fair - 0.01, cpu), 'nominal');
    assert.equal(pressureLevel(cpu.fair, cpu), 'fair');
    assert.equal(pressureLevel(cpu.serious, cpu), 'serious');
    assert.equal(pressureLevel(cpu.critical, cpu), 'critical');
    for (const bound of ['fair', 'serious', 'critical'] as const) {
      assert.ok(PRESSURE_THRESHOLDS.memory[bound] < PRESSURE_THRESHOLDS.cpu[bound], bound);
    }
    // The same 6 % stall: routine for the CPU, serious for memory.
    assert.equal(pressureLevel(6, PRESSURE_THRESHOLDS.cpu), 'nominal');
    assert.equal(pressureLevel(6, PRESSURE_THRESHOLDS.memory), 'serious');
  });
});

describe('readLinuxPressure', () => {
  it('reads each resource present', () => {
    const root = proc({ cpu: psi('45.10'), memory: psi('0.50'), io: psi('21.00') });
    assert.deepEqual(readLinuxPressure(root), {
      cpuPressure: 'serious',
      memoryPressure: 'nominal',
      ioPressure: 'serious',
    });
  });

  it('leaves out missing and malformed files', () => {
    assert.deepEqual(readLinuxPressure(proc({ memory: psi('25.00'), io: 'garbage\n' })), {
      memoryPressure: 'critical',
    });
    assert.deepEqual(readLinuxPressure(proc({})), {});
    assert.deepEqual(readLinuxPressure(join(base, 'no-proc')), {});
  });

  it('leaves out a file that cannot be read (psi=0 gives EOPNOTSUPP; here a directory gives EISDIR)', () => {
    const root = proc({ cpu: psi('1.00') });
    mkdirSync(join(root, 'pressure', 'io'));
    assert.deepEqual(readLinuxPressure(root), { cpuPressure: 'nominal' });
  });

  it('holds a level until the stall share is a fifth below its bound', () => {
    const cpuAt = (value: string) => proc({ cpu: psi(value) });
    assert.equal(readLinuxPressure(cpuAt('10.00')).cpuPressure, 'fair');
    assert.equal(readLinuxPressure(cpuAt('8.10'), { cpuPressure: 'fair' }).cpuPressure, 'fair');
    assert.equal(readLinuxPressure(cpuAt('7.90'), { cpuPressure: 'fair' }).cpuPressure, 'nominal');
    assert.equal(readLinuxPressure(cpuAt('35.00'), { cpuPressure: 'serious' }).cpuPressure, 'serious');
    assert.equal(readLinuxPressure(cpuAt('31.00'), { cpuPressure: 'serious' }).cpuPressure, 'fair');
    assert.equal(
      readLinuxPressure(cpuAt('50.00'), { cpuPressure: 'fair' }).cpuPressure,
      'serious',
      'rising is never held back',
    );
    // Each resource keeps its own history.
    assert.deepEqual(
      readLinuxPressure(proc({ cpu: psi('8.50'), memory: psi('0.00') }), {
        cpuPressure: 'fair',
        memoryPressure: 'critical',
      }),
      {
        cpuPressure: 'fair',
        memoryPressure: 'nominal',
      },
    );
  });

  it('reads this machine with valid levels or nothing', () => {
    const reading = readLinuxPressure();
    for (const value of Object.values(reading)) assert.ok(['nominal', 'fair', 'serious', 'critical'].includes(value));
  });
});
