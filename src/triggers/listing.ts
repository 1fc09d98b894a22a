/**
 * A listing of a watched path, for the changes made while the daemon was not watching: a directory's
 * entries with their mtimes (at most `TRIGGER_LIMITS.entriesPerDirectory`, the rest ignored), a file as
 * its own entry (`''`), nothing for a path that does not exist. Asynchronous: never blocks the daemon.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TRIGGER_LIMITS } from '../engine/triggers/fileTriggers.js';

export async function listPath(path: string): Promise<Record<string, number>> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return {};
  }
  if (!info.isDirectory()) return { '': info.mtimeMs };
  let names: string[];
  try {
    names = (await readdir(path)).sort().slice(0, TRIGGER_LIMITS.entriesPerDirectory);
  } catch {
    return {};
  }
  const listing: Record<string, number> = {};
  await Promise.all(
    names.map(async (name) => {
      try {
        listing[name] = (await stat(join(path, name))).mtimeMs;
      } catch {
        // Gone between the readdir and the stat: it is not there.
      }
    }),
  );
  return listing;
}
