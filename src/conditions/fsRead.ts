/**
 * Reads for sysfs and procfs that never throw: attributes vary by driver and kernel, and some exist but
 * fail to read (EIO, ENODATA) while a device settles. A sensor treats "cannot read" as "does not know".
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The file's text, trimmed; null when it cannot be read. */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The directory's entries; empty when it cannot be read. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
