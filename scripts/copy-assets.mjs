// Copies the files tsc does not emit into dist: the dashboard page (plain HTML, CSS and ES modules,
// served by the daemon as they are; no bundler, so the user's install has no build step).
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const assets = ['dashboard'];
for (const asset of assets) {
  const target = join(root, 'dist', asset);
  rmSync(target, { recursive: true, force: true }); // a file removed from src must not linger in dist
  cpSync(join(root, 'src', asset), target, { recursive: true });
}
