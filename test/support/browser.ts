import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/**
 * The browser the dashboard's tests drive: Debian's chromium (playwright-core downloads none).
 * `BGTASKS_CHROMIUM` names another executable (or a missing one, to see the skip).
 *
 * On a machine without it the browser tests are skipped, and one loud line per test run says how to
 * enable them; under CI (`CI=true`, which installs chromium) they are never skipped: they run and fail.
 */
export const CHROMIUM_PATH = process.env.BGTASKS_CHROMIUM ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ENABLE_HINT = 'apt-get install chromium (or BGTASKS_CHROMIUM=/path/to/chromium)';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function underCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/**
 * For `describe(name, { skip: browserSkip() }, …)`: false when the browser tests run (chromium is
 * there, or CI refuses to skip), else the reason. The first test file of a run that skips prints the
 * loud line (one per `node --test` run: the files share the runner as parent process).
 */
export function browserSkip(): string | false {
  if (executable(CHROMIUM_PATH) || underCi()) return false;
  const reason = `no chromium at ${CHROMIUM_PATH}: browser test skipped; to run it: ${ENABLE_HINT}`;
  announceOnce(reason);
  return reason;
}

/** The test run: the runner's pid and (where /proc tells) its start time, so a reused pid is another run. */
function runId(): string {
  try {
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    return `${process.ppid}-${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''}`;
  } catch {
    return String(process.ppid);
  }
}

function announceOnce(reason: string): void {
  try {
    closeSync(openSync(join(tmpdir(), `bgtasks-browser-skip-${runId()}`), 'wx'));
  } catch {
    return; // another test file of this run said it already
  }
  process.stderr.write(`\n!!!!! SKIPPED THE BROWSER TESTS — ${reason} !!!!!\n\n`);
}

/** Launches the headless browser; under CI a missing executable fails with the fix, not a stack of playwright. */
export async function launchBrowser(): Promise<Browser> {
  if (!executable(CHROMIUM_PATH)) {
    throw new Error(
      `CI=${process.env.CI ?? ''} refuses to skip the browser tests, and there is ` +
        `no chromium at ${CHROMIUM_PATH}: ${ENABLE_HINT}`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}
