import { z } from 'zod';

/**
 * Reverse-DNS names: app ids (`com.example.feeds`) and task identifiers (`com.example.feeds.refresh`).
 * Letters, digits, `.`, `_` and `-`; 1 to 200 characters; starts with a letter or digit.
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export const appIdSchema = z
  .string()
  .regex(NAME_PATTERN, 'must be a reverse-DNS name: letters, digits, ".", "_" or "-", at most 200 characters');

export const identifierSchema = z
  .string()
  .regex(NAME_PATTERN, 'must be a reverse-DNS name: letters, digits, ".", "_" or "-", at most 200 characters');

/** A manifest entry: an identifier, or a family ending in `.*`. */
export const identifierPatternSchema = z
  .string()
  .refine(
    (value) => NAME_PATTERN.test(value.endsWith('.*') ? value.slice(0, -2) : value),
    'must be a reverse-DNS identifier, or a family ending in ".*" (e.g. "com.example.export.*")',
  );

/** A node id: safe in logs, URLs and a terminal column. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** {@link NODE_ID_PATTERN} in words, for error messages. */
export const NODE_ID_RULE = '1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit';
