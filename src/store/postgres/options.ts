/**
 * The PostgreSQL store's options: their defaults in one place, and their checks, which name the option
 * at fault. Compiled once, when the store is created.
 */
import { NODE_ID_PATTERN, NODE_ID_RULE } from '../fleet.js';
import { assertKnownOptions, describeValue } from '../optionChecks.js';

/** Where the store's database is, and which node of the fleet this store is. */
export interface PostgresStoreOptions {
  /**
   * `postgres://user[:password]@host[:port]/database`, or `postgresql://…`, with any parameter
   * node-postgres understands (`sslmode`, `options`, …) and one of bgtasks' own: `schema=NAME`, the
   * schema the store's tables live in (created by `migrate()`; lower-case letters, digits and `_`).
   * @defaultValue schema `public`
   */
  readonly url: string;
  /**
   * This machine's id in the fleet: the store reads and writes only this node's rows (and the shared
   * pool's). 1 to 64 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit.
   */
  readonly nodeId: string;
  /**
   * The most connections the store opens at once (writes take one each; reads share them).
   * @defaultValue `4`
   */
  readonly poolSize?: number;
}

/** Options with every default filled in, and the URL taken apart. @internal */
export interface CompiledPostgresStoreOptions {
  readonly nodeId: string;
  readonly poolSize: number;
  readonly schema: string;
  /** The URL node-postgres connects to: without `schema` (ours) or `options` (given separately). */
  readonly connectionString: string;
  /** The startup `options` of every connection: the URL's own, then the store's search_path. */
  readonly connectionOptions: string;
  /** The URL without its password, for logs and messages. */
  readonly location: string;
}

/** Every default of {@link PostgresStoreOptions}, in one place. */
export function defaultPostgresStoreOptions(): Required<Omit<PostgresStoreOptions, 'url' | 'nodeId'>> & {
  schema: string;
} {
  return { poolSize: 4, schema: 'public' };
}

const OPTION_NAMES = ['url', 'nodeId', 'poolSize'] as const;
const MAX_POOL_SIZE = 100;
// Interpolated in SQL and in the search_path, so only what needs no quoting (63 is PostgreSQL's limit).
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const PROTOCOLS = ['postgres:', 'postgresql:'];

function parseUrl(url: unknown): URL {
  let parsed: URL | undefined;
  if (typeof url === 'string') {
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed === undefined || !PROTOCOLS.includes(parsed.protocol)) {
    // The value may hold a password: say what is wrong without echoing it.
    const what = typeof url === 'string' ? 'a string that is not one' : describeValue(url);
    throw new TypeError(`Expected \`url\` to be a postgres:// or postgresql:// URL, got ${what}`);
  }
  return parsed;
}

/**
 * Checks options and fills in defaults, throwing a `TypeError` that names the bad option (`url`,
 * `schema` for the URL's parameter, `nodeId`, `poolSize`).
 * @internal
 */
export function compilePostgresStoreOptions(options: PostgresStoreOptions): CompiledPostgresStoreOptions {
  assertKnownOptions('PostgresStore', options, OPTION_NAMES);
  const defaults = defaultPostgresStoreOptions();
  const { nodeId } = options;
  const poolSize = options.poolSize ?? defaults.poolSize;
  const url = parseUrl(options.url);
  if (typeof nodeId !== 'string' || !NODE_ID_PATTERN.test(nodeId)) {
    throw new TypeError(`Expected \`nodeId\` to be ${NODE_ID_RULE}, got ${describeValue(nodeId)}`);
  }
  if (typeof poolSize !== 'number' || !Number.isInteger(poolSize) || poolSize < 1 || poolSize > MAX_POOL_SIZE) {
    throw new TypeError(
      `Expected \`poolSize\` to be an integer from 1 to ${MAX_POOL_SIZE}, got ` + `${describeValue(poolSize)}`,
    );
  }
  const schemas = url.searchParams.getAll('schema');
  const schema = schemas[0] ?? defaults.schema;
  if (schemas.length > 1 || !SCHEMA.test(schema)) {
    throw new TypeError(
      `Expected the \`schema\` parameter of \`url\` to be one name of lower-case ` +
        `letters, digits and '_' (at most 63, not starting with a digit), got ` +
        `${describeValue(schemas.join(', '))}`,
    );
  }
  const ownOptions = url.searchParams.get('options');
  const connectionOptions = `${ownOptions === null ? '' : `${ownOptions} `}-c search_path=${schema}`;
  const forPg = new URL(url.href);
  forPg.searchParams.delete('schema');
  forPg.searchParams.delete('options');
  const shown = new URL(url.href);
  shown.password = '';
  shown.searchParams.delete('password');
  return { nodeId, poolSize, schema, connectionString: forPg.href, connectionOptions, location: shown.href };
}
