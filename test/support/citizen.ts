/**
 * The good citizen of the attack tests: while something floods or misbehaves, another app (the chaos
 * fixture) submits a task and it must run, or the daemon has stopped serving apps.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { homePaths } from '../../src/shared/paths.js';
import { CHAOS_APP_DIR } from './chaos.js';
import { run, until, type TestHome } from './daemonProcess.js';

/** The citizen app's directory, to install it. */
export const CITIZEN_DIR = CHAOS_APP_DIR;

/** The runs of an identifier in the home's store, oldest first. */
export function runsOf(home: TestHome, identifier: string): { outcome: string | null; reason: string | null }[] {
  const db = new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[string], { outcome: string | null; reason: string | null }>(
        'SELECT outcome, reason FROM runs WHERE identifier = ? ORDER BY seq',
      )
      .all(identifier);
  } finally {
    db.close();
  }
}

/** The citizen submits one task (as a person running `node main.mjs one ID`), and it runs to success. */
export async function citizenRuns(home: TestHome, identifier: string): Promise<void> {
  const submitted = await run(process.execPath, ['main.mjs', 'one', identifier], {
    cwd: CITIZEN_DIR,
    env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
  });
  assert.equal(submitted.code, 0, submitted.stderr);
  await until(`${identifier} to succeed`, () =>
    runsOf(home, identifier).some((row) => row.outcome === 'success') ? true : undefined,
  );
}
