import { readFileSync } from 'node:fs';

/**
 * File descriptors kept for what must always work whatever clients do: the store (SQLite and its WAL,
 * or PostgreSQL connections), the sensors' files and monitor processes, the apps' pipes and log files.
 */
export const RESERVED_DESCRIPTORS = 256;

/**
 * The soft limit on open files of this process, or null where /proc does not say (macOS). Node raises
 * the soft limit to the hard one itself when it starts (PlatformInit in src/node.cc), so there is nothing
 * left to raise here, and Node has no setrlimit: this reads what the limit ended up as.
 */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | null {
  try {
    const lines = readFileSync(limitsFile, 'utf8').split('\n');
    const line = lines.find((candidate) => candidate.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    const value = Number(soft);
    return Number.isInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

/**
 * Caps the socket's and the HTTP server's connections so that both at their limits still leave
 * {@link RESERVED_DESCRIPTORS} free: two thirds of the rest for the socket (apps and the CLI), one third
 * for HTTP. A limit within its share is kept as configured.
 */
export function fitToDescriptors(
  limit: number | null,
  ipcMax: number,
  httpMax: number,
): { ipc: number; http: number; clamped: boolean } {
  if (limit === null) return { ipc: ipcMax, http: httpMax, clamped: false };
  const spare = Math.max(limit - RESERVED_DESCRIPTORS, 48);
  const ipc = Math.min(ipcMax, Math.floor((spare * 2) / 3));
  const http = Math.min(httpMax, Math.max(16, spare - ipc));
  return { ipc, http, clamped: ipc < ipcMax || http < httpMax };
}
