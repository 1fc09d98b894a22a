import { execFile } from 'node:child_process';

/** What a command did. `code` is null when it could not run at all (then `error` says why, e.g. ENOENT). */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: string;
}

/**
 * Runs the service manager's commands (systemctl, launchctl, id). The controllers take one, so their
 * tests can run them against a stand-in where the real manager cannot run (launchctl on Linux).
 */
export interface CommandRunner {
  run(command: string, args: readonly string[]): Promise<CommandResult>;
}

/** systemctl can wait on a slow unit (a stop takes up to TimeoutStopSec); past this, it is hung. */
const COMMAND_TIMEOUT_MS = 90_000;

/** Runs commands with execFile (no shell); never rejects: a failure to run is a result too. */
export const execFileRunner: CommandRunner = {
  run(command, args) {
    return new Promise((resolve) => {
      execFile(
        command,
        [...args],
        {
          timeout: COMMAND_TIMEOUT_MS,
          encoding: 'utf8',
          env: { ...process.env, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' },
        },
        (error, stdout, stderr) => {
          if (!error) return resolve({ code: 0, stdout, stderr });
          const failure = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          if (typeof failure.code === 'number') return resolve({ code: failure.code, stdout, stderr });
          resolve({
            code: null,
            stdout,
            stderr,
            error: failure.killed ? `timed out after ${COMMAND_TIMEOUT_MS} ms` : (failure.code ?? failure.message),
          });
        },
      );
    });
  },
};

/** A command as a person would type it in a shell, for messages ("run: systemctl --user …"). */
export function shellLine(argv: readonly string[]): string {
  return argv
    .map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** The one line of a command's output worth showing in an error. */
export function firstLine(result: CommandResult): string {
  const text = (result.stderr.trim() || result.stdout.trim() || result.error || `exit ${String(result.code)}`).split(
    '\n',
  )[0]!;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
