/**
 * Manifest identifier matching. An entry is an exact identifier, or a family ending in `.*`
 * (`com.example.export.*`) that permits any identifier with that prefix and at least one more character
 * (`com.example.export.a1b2`), as iOS 26 does for continued-processing identifiers.
 */
export function isFamilyPattern(pattern: string): boolean {
  return pattern.endsWith('.*');
}

export function matchesPattern(pattern: string, identifier: string): boolean {
  if (!isFamilyPattern(pattern)) return pattern === identifier;
  const prefix = pattern.slice(0, -1); // keeps the trailing '.'
  return identifier.length > prefix.length && identifier.startsWith(prefix);
}

export function isPermitted(permitted: readonly string[], identifier: string): boolean {
  return permitted.some((pattern) => matchesPattern(pattern, identifier));
}

/** Finds the registered handler key for an identifier: the exact one, else the longest matching family. */
export function findHandlerKey(registered: Iterable<string>, identifier: string): string | undefined {
  let family: string | undefined;
  for (const key of registered) {
    if (key === identifier) return key;
    if (isFamilyPattern(key) && matchesPattern(key, identifier) && (!family || key.length > family.length))
      family = key;
  }
  return family;
}
