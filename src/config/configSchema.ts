/**
 * The schema of the config file (`<home>/config.json`, or the file named by `--config` or
 * `$BGTASKS_CONFIG`). It is the one list of the options a person sets: the environment variables, the
 * `bgtasks config` listing, the JSON Schema for editors and the table in docs/configuration.md are all
 * derived from it (see configOptions.ts). The defaults are NOT here: they stay in
 * `compileDaemonOptions`, `compileSchedulingOptions` and `compileFleetOptions`, and the effective value
 * of an option left unset is read back from what those compile.
 *
 * Every object is strict, so a misspelt key is an error naming its path, never a silently ignored
 * setting.
 */
import { z } from 'zod';
import { SCHEDULING_OPTION_TABLE, type OptionRule, type SchedulingOptions } from '../engine/options.js';
import type { FleetOptions } from '../daemon/fleet/fleetOptions.js';
import type { ConnectionLimits } from '../daemon/ipcServer.js';
import type { HttpLimits } from '../daemon/guards/httpConnectionGuard.js';
import type { HistoryOptions } from '../daemon/history/historyPruner.js';
import { LOG_FORMATS } from '../daemon/logger.js';
import { NODE_ID_PATTERN, NODE_ID_RULE } from '../store/fleet.js';

/** pino's level names; `silent` writes nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** A whole number in [min, max]; every failure says so in the same words. */
function int(min: number, max?: number) {
  const rule = `an integer >= ${min}${max === undefined ? '' : ` and <= ${max}`}`;
  const base = z
    .number({ error: `expected ${rule}` })
    .int({ error: `expected ${rule}` })
    .min(min, { error: `expected ${rule}` });
  return max === undefined ? base : base.max(max, { error: `expected ${rule}` });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.join(', ')}` });
}

const bool = () => z.boolean({ error: 'expected true or false' });
const text = (what: string) =>
  z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}, not an empty string` });

/** The zod schema of one rule of the engine's option table, failing in the same words as `compileSchedulingOptions`. */
function fromRule(rule: OptionRule): z.ZodType<number | boolean | string> {
  switch (rule.kind) {
    case 'int':
      return int(rule.min, rule.max);
    case 'bool':
      return bool();
    case 'enum':
      return oneOf(rule.values as readonly string[] as [string, ...string[]]);
  }
}

/**
 * Each scheduling option, made from the engine's table (`SCHEDULING_OPTION_TABLE`: its rule and its
 * description), so an option is written once; a unit test checks the two agree at every bound.
 */
const schedulingShape = Object.fromEntries(
  Object.entries(SCHEDULING_OPTION_TABLE).map(([name, [rule, description]]) => [
    name,
    fromRule(rule).optional().describe(description),
  ]),
) as { [K in keyof SchedulingOptions]-?: z.ZodOptional<z.ZodType<SchedulingOptions[K]>> };

const fleetShape = {
  heartbeatMs: int(1)
    .optional()
    .describe('How often the node renews its lease, reports its conditions and looks at the ' + 'pool, in ms.'),
  leaseMs: int(1)
    .optional()
    .describe("How long a node's claims and runs survive without a heartbeat, in ms (at " + 'least 3 × heartbeatMs).'),
  maintenanceMs: int(1)
    .optional()
    .describe('How often a node tries to take the maintenance lock (expire leases, prune ' + 'history), in ms.'),
  retentionMs: int(1)
    .optional()
    .describe('Finished runs and events older than this are pruned from the shared store, ' + 'in ms.'),
} satisfies { [K in keyof FleetOptions]-?: z.ZodType<FleetOptions[K] | undefined> };

const connectionLimitsShape = {
  maxConnections: int(1).optional().describe('Connections at once, of every kind; one more is refused.'),
  maxUnauthenticated: int(1)
    .optional()
    .describe('Connections that have not said hello yet; one more closes the oldest of ' + 'them.'),
  maxConnectionsPerApp: int(1)
    .optional()
    .describe('Connections of one app at once; one more is refused and counts as ' + 'misbehaviour.'),
  maxControlConnections: int(1)
    .optional()
    .describe(
      'Control connections (`bgtasks`, dashboard watchers) at once; one more closes ' +
        "the one idle the longest, so they never take the apps' slots.",
    ),
  maxFramesPerSecond: int(1)
    .optional()
    .describe('Frames one connection may send per second; over it, the daemon stops reading ' + 'it for a while.'),
  maxRequestsInFlight: int(1)
    .optional()
    .describe(
      'Requests one connection may have unanswered; at the limit, the daemon reads ' +
        'no more from it until half are answered.',
    ),
} satisfies { [K in keyof ConnectionLimits]-?: z.ZodType<ConnectionLimits[K] | undefined> };

const httpLimitsShape = {
  maxConnections: int(1)
    .optional()
    .describe('HTTP connections at once (dashboard, push senders, scrapers); one more is ' + 'closed at once.'),
  maxUnauthenticated: int(1)
    .optional()
    .describe(
      'HTTP connections that have made no request with a valid token yet; one more ' + 'closes the oldest of them.',
    ),
  headersTimeoutMs: int(1).optional().describe("An HTTP request's headers must arrive within this time, in ms."),
  requestTimeoutMs: int(1)
    .optional()
    .describe('A whole HTTP request, body included (a push too), must arrive within this ' + 'time, in ms.'),
} satisfies { [K in keyof HttpLimits]-?: z.ZodType<HttpLimits[K] | undefined> };

const historyShape = {
  retentionMs: int(1).optional().describe('Finished runs and events older than this are pruned from the store, in ms.'),
  maxRunsPerApp: int(1)
    .optional()
    .describe(
      'Of each app, at most this many finished runs are kept (the newest), and four ' + 'times as many events.',
    ),
  pruneIntervalMs: int(1)
    .optional()
    .describe('How often old history is pruned, in ms (in small batches, off the task ' + 'path).'),
  pruneBatchRows: int(1).optional().describe('Rows deleted per table in one pruning transaction.'),
} satisfies { [K in keyof HistoryOptions]-?: z.ZodType<HistoryOptions[K] | undefined> };

/** The options, without `$schema`: what the file, the environment and the flags may each set. */
export const configOptionsSchema = z.strictObject({
  home: text('a directory')
    .optional()
    .describe(
      "The system's home directory (socket, credentials, logs, the default store). " +
        'Only in a file named by `--config` or `$BGTASKS_CONFIG`, since ' +
        '`<home>/config.json` is found through the home. A relative path is resolved ' +
        "from the file's directory.",
    ),
  store: text('a file path or a postgres:// URL')
    .optional()
    .describe(
      'The SQLite store file, or a `postgres://user@host/db?schema=NAME` URL shared ' +
        'by a fleet (docs/fleet.md). A relative path in the file is resolved from the ' +
        "file's directory.",
    ),
  nodeId: z
    .string({ error: `expected ${NODE_ID_RULE}` })
    .regex(NODE_ID_PATTERN, { error: `expected ${NODE_ID_RULE}` })
    .optional()
    .describe("With a `postgres://` store: this machine's id in the fleet."),
  synchronous: oneOf(['full', 'normal'])
    .optional()
    .describe('SQLite synchronous: `full` survives power loss, `normal` only process ' + 'crashes.'),
  http: z
    .strictObject({
      enabled: bool().optional().describe('Serve the web dashboard and the push endpoint.'),
      port: int(0, 65_535).optional().describe("The dashboard's port; 0 picks a free port."),
      host: text('an IP address or localhost')
        .optional()
        .describe(
          'The address the dashboard and push endpoint listen on; anything but loopback ' +
            'is reachable from other machines, without TLS, and warns.',
        ),
    })
    .optional(),
  log: z
    .strictObject({
      level: oneOf(LOG_LEVELS).optional().describe("The daemon's log level."),
      format: oneOf(LOG_FORMATS as readonly string[] as readonly ['auto', 'json', 'pretty'])
        .optional()
        .describe('`auto`: readable lines on a terminal, JSON lines anywhere else; `json`; ' + '`pretty`.'),
    })
    .optional(),
  scheduling: z.strictObject(schedulingShape).optional(),
  fleet: z.strictObject(fleetShape).optional(),
  sensorPollIntervalMs: int(1).optional().describe('How often the sensors are read, in ms.'),
  helloTimeoutMs: int(1).optional().describe('A client must say hello within this time, in ms.'),
  maxFrameBytes: int(1).optional().describe('Longest IPC frame accepted, in bytes.'),
  connectionLimits: z.strictObject(connectionLimitsShape).optional(),
  httpLimits: z.strictObject(httpLimitsShape).optional(),
  history: z.strictObject(historyShape).optional(),
  metrics: z
    .strictObject({
      enabled: bool()
        .optional()
        .describe(
          "Serve the Prometheus endpoint `GET /metrics` on the dashboard's listener, " +
            'behind the token in `<home>/metrics-token` (docs/metrics.md).',
        ),
    })
    .optional(),
});

/** The file: the options, and a `$schema` key for editors (ignored by the daemon). */
export const configFileSchema = configOptionsSchema.extend({
  $schema: z
    .string({ error: "expected a string (the JSON Schema's location, for editors)" })
    .optional()
    .describe('The JSON Schema of this file, for editors: `bgtasks config --schema > ' + 'config.schema.json`.'),
});

/** Options as the file, the environment or the flags give them: every key optional. */
export type ConfigInput = z.infer<typeof configOptionsSchema>;

/** The JSON Schema of the config file, for editors (`bgtasks config --schema`). */
export function configJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(configFileSchema), title: 'bgtasks configuration' };
}
