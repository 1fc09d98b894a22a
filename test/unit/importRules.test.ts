import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FOLDERS, FOLDER_RULES } from '../../scripts/importRules.mjs';

const ROOT = join(import.meta.dirname, '..', '..');

/** The rows of the table under "Folders and the one-way rule": folder -> the folders its "may import" names. */
function documentedRules(): Map<string, Set<string>> {
  const text = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const rows = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const cells = /^\| `src\/([a-z]+)` \|.*\| ([^|]*) \|$/.exec(line);
    if (!cells) continue;
    const named = [...cells[2]!.matchAll(/`([a-z]+(?:\/[a-z]+)?)`/g)].map((match) => match[1]!);
    rows.set(cells[1]!, new Set(named.filter((name) => FOLDERS.includes(name.split('/')[0]!))));
  }
  return rows;
}

describe('the import rules', () => {
  it('name every top-level folder of src/, and each folder has a README saying what it may import', () => {
    const folders = readdirSync(join(ROOT, 'src')).filter((name) => statSync(join(ROOT, 'src', name)).isDirectory());
    assert.deepEqual([...folders].sort(), [...FOLDERS].sort());
    for (const folder of folders) {
      assert.match(
        readFileSync(join(ROOT, 'src', folder, 'README.md'), 'utf8'),
        /^May import: /m,
        `src/${folder}/README.md`,
      );
    }
  });

  it('are the ones docs/architecture.md states, folder by folder', () => {
    const documented = documentedRules();
    const topRules = FOLDER_RULES.filter((rule) => !rule.folder.includes('/'));
    assert.deepEqual([...documented.keys()].sort(), topRules.map((rule) => rule.folder).sort());
    for (const rule of topRules) {
      assert.deepEqual(
        [...documented.get(rule.folder)!].sort(),
        [...rule.may, ...(rule.typesFrom ?? [])].sort(),
        rule.folder,
      );
    }
  });
});
