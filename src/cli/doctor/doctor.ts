import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sensors } from '../../conditions/sensors.js';
import { NODE_ID_PATTERN } from '../../store/fleet.js';
import { homePaths } from '../../shared/paths.js';
import { checkApps } from './appsCheck.js';
import { guarded, type Check } from './checks.js';
import { checkDaemon, type DaemonFacts } from './daemonCheck.js';
import { checkHome } from './homeCheck.js';
import { summarize, type DoctorReport } from './report.js';
import { checkSensors } from './sensorsCheck.js';
import { checkStore, type StoreCheckResult } from './storeCheck.js';
import { isPostgresLocation } from '../../store/location.js';

/** How long each question to the daemon, the database or the sensors may take. */
export const DEFAULT_DOCTOR_TIMEOUT_MS = 5000;

/**
 * What the doctor looks at. Home and store come in as parameters (not read from the environment here)
 * so that whoever resolves them (the command line today, a config file later) decides.
 */
export interface DoctorOptions {
  readonly home: string;
  /** The store to check; else the running daemon's, else `configStore`, else `<home>/store.sqlite`. */
  readonly store?: string;
  /** The store the configuration names (see configCheck.ts), with where that came from. */
  readonly configStore?: { readonly location: string; readonly source: string };
  /** The configuration's own findings (configCheck.ts), reported first. */
  readonly configChecks?: readonly Check[];
  /** In a fleet: this machine's node id; else the daemon's, else `<home>/node-id`. */
  readonly nodeId?: string;
  /** This command's version, compared with the daemon's. */
  readonly cliVersion: string;
  /** @default DEFAULT_DOCTOR_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** The environment launch commands resolve in. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The sensors to read when no daemon runs. @default this machine's */
  readonly sensors?: Sensors;
  /** Free-space thresholds of the store's filesystem. @default DEFAULT_DISK_THRESHOLDS */
  readonly disk?: { readonly warnBelowBytes: number; readonly failBelowBytes: number };
}

/** Runs every check, in order (the later ones use what the daemon said); never throws for a finding. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOCTOR_TIMEOUT_MS;
  const { home } = homePaths(options.home);
  const daemon = await guarded(
    'daemon.running',
    'daemon',
    () => checkDaemon({ home, cliVersion: options.cliVersion, timeoutMs }),
    { facts: {} as DaemonFacts },
  );
  const { facts } = daemon;

  const store = chooseStore(options, facts);
  const nodeId = options.nodeId ?? facts.status?.node ?? readNodeId(home);
  const permissions = await guarded(
    'permissions.home',
    'permissions',
    () => checkHome({ home, storeFile: isPostgresLocation(store.location) ? null : store.location }),
    {},
  );
  const storeResult: StoreCheckResult = await guarded(
    'store.open',
    'store',
    () =>
      checkStore({
        ...store,
        nodeId,
        daemon: facts.status ?? null,
        wantApps: facts.apps === undefined,
        timeoutMs,
        ...(options.disk ? { disk: options.disk } : {}),
      }),
    { appsError: 'the store check failed' },
  );
  const sensors = await guarded(
    'sensors.read',
    'sensors',
    () =>
      checkSensors({
        daemon: facts.conditions ?? null,
        timeoutMs,
        ...(storeResult.overrides ? { storedOverrides: storeResult.overrides } : {}),
        ...(options.sensors ? { sensors: options.sensors } : {}),
      }),
    {},
  );
  const apps = await guarded(
    'apps.list',
    'apps',
    () =>
      checkApps({
        apps: facts.apps ?? storeResult.apps ?? null,
        ...(storeResult.appsError !== undefined ? { appsError: storeResult.appsError } : {}),
        source: facts.apps ? 'from the daemon' : 'from the store, read-only',
        ...(options.env ? { env: options.env } : {}),
      }),
    {},
  );
  const checks: Check[] = [
    ...(options.configChecks ?? []),
    ...daemon.checks,
    ...permissions.checks,
    ...storeResult.checks,
    ...sensors.checks,
    ...apps.checks,
  ];
  return { home, checks, summary: summarize(checks) };
}

function chooseStore(options: DoctorOptions, facts: DaemonFacts): { location: string; source: string } {
  if (options.store !== undefined) return { location: options.store, source: '--store' };
  if (facts.status) return { location: facts.status.store.location, source: 'the running daemon' };
  if (options.configStore) return options.configStore;
  return { location: homePaths(options.home).storeFile, source: 'the default' };
}

/** The node id a fleet daemon keeps in `<home>/node-id` (read only: the doctor never makes one). */
function readNodeId(home: string): string | null {
  try {
    const id = readFileSync(join(home, 'node-id'), 'utf8').trim();
    return NODE_ID_PATTERN.test(id) ? id : null;
  } catch {
    return null;
  }
}
