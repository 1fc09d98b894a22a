/**
 * What both stores check their options with, so a bad option reads the same whichever store it is for.
 * @internal
 */

/** A value as an error message shows it: `"text"` (string), `5` (number), `null` (null). */
export function describeValue(value: unknown): string {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `\`${shown}\` (${value === null ? 'null' : typeof value})`;
}

/** @throws TypeError when `options` is not an object, or has a key not in `names`, naming it. */
export function assertKnownOptions(owner: string, options: unknown, names: readonly string[]): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected ${owner} options to be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!names.includes(key))
      throw new TypeError(`Unknown ${owner} option \`${key}\`; the options are ${names.join(', ')}`);
  }
}
