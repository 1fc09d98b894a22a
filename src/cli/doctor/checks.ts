/**
 * What every `bgtasks doctor` check produces: one line of the report. Checks only look: none writes a
 * file, a row or a setting (see docs/doctor.md).
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';
export const CHECK_GROUPS = ['config', 'daemon', 'permissions', 'store', 'sensors', 'apps'] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

export interface Check {
  /** Stable, for scripts: `group.what` (`permissions.home`, `apps.com.example.feeds`). */
  readonly id: string;
  readonly group: CheckGroup;
  readonly status: CheckStatus;
  /** One line: what was found. */
  readonly detail: string;
  /** For `warn` and `fail`: the command (or step) that fixes it. */
  readonly fix?: string;
}

export function ok(id: string, group: CheckGroup, detail: string): Check {
  return { id, group, status: 'ok', detail };
}

export function warn(id: string, group: CheckGroup, detail: string, fix: string): Check {
  return { id, group, status: 'warn', detail, fix };
}

export function fail(id: string, group: CheckGroup, detail: string, fix: string): Check {
  return { id, group, status: 'fail', detail, fix };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one check group; whatever it throws becomes a `fail` line naming the error, so one broken check
 * never hides the others (nor crashes the command).
 */
export async function guarded<T extends { readonly checks: readonly Check[] }>(
  id: string,
  group: CheckGroup,
  work: () => T | Promise<T>,
  fallback: Omit<T, 'checks'>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const crashed = fail(
      id,
      group,
      `the check itself failed: ${errorMessage(error)}`,
      'report this as a bgtasks bug, with the output of `bgtasks doctor --json`',
    );
    return { ...fallback, checks: [crashed] } as unknown as T;
  }
}

/** Rejects with `message` after `ms`, so a hung daemon or database cannot hang the doctor. */
export async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A path or word as a POSIX shell reads it back, for the `fix:` lines people paste. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
