import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { homePaths } from '../../shared/paths.js';
import { readUntrustedFile, MAX_TOKEN_FILE_BYTES } from '../../shared/untrustedFile.js';

/**
 * `<home>/run/dashboard.json` (0600, in the 0700 run directory): where the daemon serves its dashboard
 * and the token it asks for. `bgtasks dashboard` reads it; only the home's user can.
 */
export interface DashboardFile {
  /** The page's address, without the token. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
}

const dashboardFileSchema = z.object({
  url: z.string().url(),
  port: z.number().int().min(1).max(65_535),
  token: z.string().min(20),
});

export function dashboardFilePath(home: string): string {
  return join(homePaths(home).runDir, 'dashboard.json');
}

/** Written to a temporary file and renamed, so a reader never sees half of it. */
export function writeDashboardFile(home: string, file: DashboardFile): void {
  const { runDir } = homePaths(home);
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  chmodSync(runDir, 0o700);
  const path = dashboardFilePath(home);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/** The file, or null when it is absent or not ours (half-written by an older version, edited by hand). */
export function readDashboardFile(home: string): DashboardFile | null {
  try {
    const parsed = dashboardFileSchema.safeParse(
      JSON.parse(readUntrustedFile(dashboardFilePath(home), MAX_TOKEN_FILE_BYTES)),
    );
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function removeDashboardFile(home: string): void {
  rmSync(dashboardFilePath(home), { force: true });
}
