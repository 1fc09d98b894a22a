import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadManifest } from '../../src/daemon/manifest.js';

const dir = mkdtempSync(join(tmpdir(), 'bgtasks-manifest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('loadManifest', () => {
  it('refuses a package.json over 1 MB before parsing it, naming the file', () => {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'huge', padding: 'x'.repeat(2 * 1024 * 1024), bgtasks: {} }),
    );
    assert.throws(() => loadManifest(dir), {
      code: 'invalidManifest',
      field: 'package.json',
      message: /at most 1048576/,
    });
  });

  it('names the field at fault in a manifest that breaks the schema', () => {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'bad',
        bgtasks: { appId: 'com.example.bad', launch: 'node main.mjs', permittedIdentifiers: [], backgroundModes: [] },
      }),
    );
    assert.throws(() => loadManifest(dir), { code: 'invalidManifest', field: 'bgtasks.launch' });
  });
});
