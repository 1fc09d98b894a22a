import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectResources } from '../../src/daemon/resources.js';

describe('detectResources', () => {
  it('finds a GPU from an NVIDIA device node or a DRM render node, and always a CPU', () => {
    const dev = mkdtempSync(join(tmpdir(), 'bgt-dev-'));
    try {
      assert.deepEqual(detectResources('linux', { dev }), ['cpu']);
      mkdirSync(join(dev, 'dri'));
      writeFileSync(join(dev, 'dri', 'card0'), '');
      assert.deepEqual(detectResources('linux', { dev }), ['cpu'], 'a display card alone is not a render node');
      writeFileSync(join(dev, 'dri', 'renderD128'), '');
      assert.deepEqual(detectResources('linux', { dev }), ['cpu', 'gpu']);
      rmSync(join(dev, 'dri'), { recursive: true });
      writeFileSync(join(dev, 'nvidia0'), '');
      assert.deepEqual(detectResources('linux', { dev }), ['cpu', 'gpu']);
      assert.deepEqual(detectResources('darwin'), ['cpu', 'gpu']);
      assert.deepEqual(detectResources('win32'), ['cpu']);
    } finally {
      rmSync(dev, { recursive: true, force: true });
    }
  });
});
