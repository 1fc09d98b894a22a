import { z } from 'zod';

/**
 * Payloads and results (docs/workflows.md): a request's `data` and a run's `result` are JSON values of at
 * most {@link MAX_PAYLOAD_BYTES} once written as JSON. One home for the limit and its check, shared by the
 * SDK (which names the field before anything is sent), the protocol's schemas and the hand-written
 * validators of the hot frames.
 */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

/** UTF-8 length of a string, without encoding it (a payload is measured on every submit and completion). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one code point of four bytes.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Why `value` cannot be a payload, or null when it can: it must survive JSON unchanged (no functions,
 * `undefined`, non-finite numbers, cycles, BigInts, class instances such as Date) and fit the limit.
 */
export function payloadProblem(value: unknown, maxBytes = MAX_PAYLOAD_BYTES): string | null {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    return `not JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  if (text === undefined) return 'not JSON (a function or undefined)';
  const bytes = utf8Length(text);
  if (bytes > maxBytes) return `${bytes} bytes as JSON; at most ${maxBytes}`;
  if (!isPlainJson(value, 0)) {
    return 'not plain JSON (only objects, arrays, strings, finite numbers, booleans and null)';
  }
  return null;
}

const MAX_DEPTH = 64;

function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (depth > MAX_DEPTH || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.every((item) => isPlainJson(item, depth + 1));
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in value) if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}

/** The protocol's schema of a payload or result: any JSON value within the limit. */
export const payloadSchema = z.unknown().superRefine((value, context) => {
  const problem = payloadProblem(value);
  if (problem !== null) context.addIssue({ code: 'custom', message: problem });
});

/** How many prerequisites a request may name. */
export const MAX_PREREQUISITES = 32;

/** What `submit` does when the identifier already has a pending request or a running task (docs/workflows.md). */
export type ExistingWorkPolicy = 'keep' | 'replace' | 'append';
export const EXISTING_WORK_POLICIES: readonly ExistingWorkPolicy[] = ['keep', 'replace', 'append'];
