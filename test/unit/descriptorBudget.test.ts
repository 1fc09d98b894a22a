import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fitToDescriptors, openFileLimit, RESERVED_DESCRIPTORS } from '../../src/daemon/guards/descriptorBudget.js';

describe('descriptor budget', () => {
  it('keeps the configured limits when the descriptor limit is high', () => {
    assert.deepEqual(fitToDescriptors(1_048_576, 1024, 256), { ipc: 1024, http: 256, clamped: false });
    assert.deepEqual(fitToDescriptors(null, 1024, 256), { ipc: 1024, http: 256, clamped: false });
  });

  it('lowers them under a low limit, leaving the reserve free', () => {
    const fitted = fitToDescriptors(1024, 1024, 256);
    assert.equal(fitted.clamped, true);
    assert.ok(fitted.ipc + fitted.http + RESERVED_DESCRIPTORS <= 1024);
    assert.ok(fitted.ipc > fitted.http, 'apps and the CLI get the larger share');
  });

  it('reads the soft limit from /proc/self/limits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgt-limits-'));
    try {
      const file = join(dir, 'limits');
      writeFileSync(
        file,
        'Limit                     Soft Limit           Hard Limit           Units    ' +
          ' \nMax open files            4096                 524288               files ' +
          '    \n',
      );
      assert.equal(openFileLimit(file), 4096);
      assert.equal(openFileLimit(join(dir, 'missing')), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (process.platform === 'linux') assert.ok((openFileLimit() ?? 0) > 0);
  });
});
