/**
 * The options of the config schema as a flat list of leaves (`http.port`, `scheduling.profile`, ...),
 * each with its environment variable. Derived from the schema by walking it, so adding an option to the
 * schema adds it everywhere (environment, `bgtasks config`, JSON Schema, docs table).
 */
import { z } from 'zod';
import { configOptionsSchema } from './configSchema.js';

/** How an option's text (an environment variable) becomes its value. */
export type OptionKind = 'integer' | 'boolean' | 'string';

export interface ConfigOption {
  /** Dotted path in the file: `scheduling.refreshTimeLimitMs`. */
  readonly path: string;
  readonly segments: readonly string[];
  /** `BGTASKS_` + the path in upper snake case: `BGTASKS_SCHEDULING_REFRESH_TIME_LIMIT_MS`. */
  readonly env: string;
  readonly kind: OptionKind;
  /** The leaf's schema, without `.optional()`. */
  readonly schema: z.ZodType;
  readonly description: string;
  /** For an enum: its values. */
  readonly values: readonly string[] | null;
}

/** `refreshTimeLimitMs` → `REFRESH_TIME_LIMIT_MS`. */
export function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function envName(segments: readonly string[]): string {
  return `BGTASKS_${segments.map(upperSnake).join('_')}`;
}

function leaves(schema: z.ZodType, segments: readonly string[]): ConfigOption[] {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      leaves(child, [...segments, key]),
    );
  }
  const kind: OptionKind =
    inner instanceof z.ZodNumber ? 'integer' : inner instanceof z.ZodBoolean ? 'boolean' : 'string';
  return [
    {
      path: segments.join('.'),
      segments,
      env: envName(segments),
      kind,
      schema: inner,
      description: schema.description ?? inner.description ?? '',
      values: inner instanceof z.ZodEnum ? (inner.options as string[]) : null,
    },
  ];
}

/** Every option, in the schema's order. */
export const CONFIG_OPTIONS: readonly ConfigOption[] = leaves(configOptionsSchema, []);

export const CONFIG_OPTIONS_BY_PATH: ReadonlyMap<string, ConfigOption> = new Map(
  CONFIG_OPTIONS.map((option) => [option.path, option]),
);

/**
 * `BGTASKS_*` variables that are not options: where the config is, and what the daemon and `bgtasks
 * check` set on the apps they start, and the SDK's debug switch. Never an error, never a warning.
 */
export const NON_OPTION_VARIABLES: ReadonlySet<string> = new Set([
  'BGTASKS_CONFIG',
  'BGTASKS_LAUNCH_REASON',
  'BGTASKS_LAUNCH_ID',
  'BGTASKS_APP_ID',
  'BGTASKS_DRY_RUN',
  'BGTASKS_DEBUG',
]);

/** Reads the value at `segments` in a nested object, or undefined. */
export function getPath(tree: unknown, segments: readonly string[]): unknown {
  let node = tree;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** Sets the value at `segments`, creating the objects on the way. */
export function setPath(tree: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node = tree;
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment];
    if (next === null || typeof next !== 'object') node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[segments[segments.length - 1]!] = value;
}

/** The closest of `candidates` to `name`, if it is close enough to be a likely typo. */
export function closest(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Two edits (a transposition, a dropped `Ms`), three in long names: a likely typo, not another option.
  return best !== null && bestDistance <= (name.length > 24 ? 3 : 2) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
