/**
 * A listing of a watched path, for the changes made while the daemon was not watching: a directory's
 * entries with their mtimes (at most `TRIGGER_LIMITS.entriesPerDirectory`, the rest ignored), a file as
 * its own entry (`''`), nothing for a path that does not exist. Asynchronous: never blocks the daemon.
 */
import { opendir, stat } from 'node:fs/promises';
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
    names = (await boundedNames(path)).sort().slice(0, TRIGGER_LIMITS.entriesPerDirectory);
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

/**
 * A directory's names, read one entry at a time and at most {@link NAMES_READ} of them: a folder of a
 * million files costs the daemon no more than this bound. Sorted afterwards, so the same names are kept
 * from one listing to the next while the folder is under the bound.
 */
async function boundedNames(path: string): Promise<string[]> {
  const names: string[] = [];
  const dir = await opendir(path);
  try {
    for await (const entry of dir) {
      names.push(entry.name);
      if (names.length >= NAMES_READ) break;
    }
  } finally {
    try {
      await dir.close();
    } catch {
      // Closed already: leaving the loop early closes the directory.
    }
  }
  return names;
}

/** How many names a listing reads from one directory before it stops: 16 times what it keeps. */
const NAMES_READ = 16 * TRIGGER_LIMITS.entriesPerDirectory;
