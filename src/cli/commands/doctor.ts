import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { VERSION } from '../../daemon/daemon.js';
import { NODE_ID_PATTERN, NODE_ID_RULE } from '../../store/fleet.js';
import { compilePostgresStoreOptions } from '../../store/postgres/options.js';
import { isPostgresLocation } from '../../store/location.js';
import { checkConfig } from '../doctor/configCheck.js';
import { CliError } from '../controlClient.js';
import { DEFAULT_DOCTOR_TIMEOUT_MS, runDoctor } from '../doctor/doctor.js';
import { renderReport } from '../doctor/report.js';

/** The command line, checked at the boundary: each message names its option. */
const optionsSchema = z.strictObject({
  json: z.boolean().optional(),
  store: z
    .string()
    .min(1, '--store must name a SQLite file or a postgres:// URL')
    .max(4096, '--store is longer than 4096 characters')
    .refine((value) => !value.includes('\0'), '--store must not contain a NUL byte')
    .optional(),
  nodeId: z.string().regex(NODE_ID_PATTERN, `--node-id must be ${NODE_ID_RULE}`).optional(),
  timeout: z
    .string()
    .regex(/^\d+$/, '--timeout must be a whole number of milliseconds')
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(100, '--timeout must be at least 100 ms')
        .max(600_000, '--timeout must be at most 600000 ms'),
    )
    .optional(),
});

const FIELD_NAMES: Record<string, string> = { store: 'store', nodeId: 'node-id', timeout: 'timeout' };

function parseOptions(raw: unknown): z.infer<typeof optionsSchema> {
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new CliError('invalidArgument', issue.message, FIELD_NAMES[key] ?? key);
  }
  const { store } = parsed.data;
  if (store !== undefined && isPostgresLocation(store)) {
    try {
      compilePostgresStoreOptions({ url: store, nodeId: parsed.data.nodeId ?? 'doctor' });
    } catch (error) {
      throw new CliError('invalidArgument', `--store: ${(error as Error).message}`, 'store');
    }
  }
  return parsed.data;
}

/**
 * `bgtasks doctor`: checks the daemon, the home's permissions, the store, the sensors and the installed
 * apps, and prints what to fix. Read-only. Exits 0 when nothing failed (warnings allowed), 1 when a
 * check failed, 2 for a bad argument. See docs/doctor.md.
 */
export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      "check the daemon, the home's permissions, the store, the sensors and the " +
        'installed apps, and say what to fix (read-only; exit 1 when a check fails)',
    )
    .option(
      '--store <location>',
      'the store to check: a SQLite file or postgres://…?schema=NAME (default: the ' +
        "running daemon's, else the configuration's, else <home>/store.sqlite)",
    )
    .option(
      '--node-id <id>',
      "with a postgres:// store: this machine's node id (default: the daemon's, else <home>/node-id)",
    )
    .option(
      '--timeout <ms>',
      `how long to wait for the daemon, the database and the sensors (default: ${DEFAULT_DOCTOR_TIMEOUT_MS})`,
    )
    .option('--json', 'print { checks: [{ id, group, status, detail, fix? }], summary } as JSON')
    .action(async (raw: unknown) => {
      const options = parseOptions(raw);
      const { home, config: configPath } = program.opts<{ home?: string; config?: string }>();
      const store =
        options.store === undefined
          ? undefined
          : isPostgresLocation(options.store)
            ? options.store
            : resolve(options.store);
      const config = checkConfig({
        ...(home !== undefined ? { home } : {}),
        ...(configPath !== undefined ? { configPath } : {}),
        env: process.env,
      });
      const nodeId = options.nodeId ?? config.facts.nodeId;
      const report = await runDoctor({
        home: config.facts.home,
        cliVersion: VERSION,
        configChecks: config.checks,
        ...(config.facts.store ? { configStore: config.facts.store } : {}),
        ...(store !== undefined ? { store } : {}),
        ...(nodeId !== undefined ? { nodeId } : {}),
        ...(options.timeout !== undefined ? { timeoutMs: options.timeout } : {}),
      });
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`);
      const failures = report.summary.fail;
      if (failures > 0)
        throw new CliError(
          'doctorFoundFailures',
          `${failures} check${failures === 1 ? '' : 's'} failed (see the fix: lines)`,
        );
    });
}
