import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parsePlist, readLaunchdJob, renderLaunchdPlist } from './launchdPlist.js';
import { ServiceError } from './serviceErrors.js';
import type { ServicePlatform } from './servicePaths.js';
import type { ServiceSpec } from './serviceSpec.js';
import { parseExecCommandLine, parseUnitFile, renderSystemdUnit, unitValue } from './systemdUnit.js';

/** The service file's text for a spec: a systemd unit on Linux, a launchd plist on macOS. */
export function renderServiceFile(spec: ServiceSpec): string {
  return spec.platform === 'linux' ? renderSystemdUnit(spec) : renderLaunchdPlist(spec);
}

/** What an installed file runs, read back; null when it cannot be read as one of ours. */
export interface InstalledJob {
  readonly programArguments: readonly string[];
  readonly runAs: string | null;
}

export function readServiceFile(platform: ServicePlatform, text: string): InstalledJob | null {
  try {
    if (platform === 'linux') {
      const unit = parseUnitFile(text);
      const execStart = unitValue(unit, 'Service', 'ExecStart');
      return execStart === null
        ? null
        : { programArguments: parseExecCommandLine(execStart), runAs: unitValue(unit, 'Service', 'User') };
    }
    const job = readLaunchdJob(parsePlist(text));
    return job.programArguments === null ? null : { programArguments: job.programArguments, runAs: job.userName };
  } catch (error) {
    if (error instanceof ServiceError) return null;
    throw error;
  }
}

function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

function permissionDenied(file: string, verb: string): ServiceError {
  return new ServiceError(
    'permissionDenied',
    `cannot ${verb} ${file}: permission denied (a --system service needs root: ` + `run it with sudo)`,
    'file',
  );
}

/** Reads the file, or null when there is none. */
export function readIfPresent(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (isPermissionError(error)) throw permissionDenied(file, 'read');
    throw error;
  }
}

/**
 * Writes the file whole or not at all (a temporary file renamed over it), readable by all (0644, as
 * systemd and launchd expect: launchd refuses a LaunchDaemon that others can write).
 */
export function writeServiceFile(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(temporary, content, { mode: 0o644 });
    chmodSync(temporary, 0o644); // the umask must not decide
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    if (isPermissionError(error)) throw permissionDenied(file, 'write');
    throw error;
  }
}

export function removeServiceFile(file: string): void {
  try {
    rmSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    if (isPermissionError(error)) throw permissionDenied(file, 'remove');
    throw error;
  }
}
