// Lets the example apps (and any app inside this repository) `import 'bgtasks'` exactly as a user's
// app would, by pointing node_modules/bgtasks at this package. npm does not link a package to itself.
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const link = join(root, 'node_modules', 'bgtasks');
mkdirSync(join(root, 'node_modules'), { recursive: true });
const present = (() => {
  try {
    return lstatSync(link).isSymbolicLink() || existsSync(link);
  } catch {
    return false;
  }
})();
if (!present) symlinkSync('..', link, 'dir');
