const POSTGRES_LOCATION = /^postgres(?:ql)?:\/\//i;

/**
 * Whether a store location names a fleet's PostgreSQL database (`postgres://` or `postgresql://`, any case)
 * rather than a SQLite file: the one test every part that takes `--store` asks.
 */
export function isPostgresLocation(location: string): boolean {
  return POSTGRES_LOCATION.test(location);
}
