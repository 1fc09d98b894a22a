/** Parsers for the command line's arguments and options: each refusal names what it expected. */
import { InvalidArgumentError } from 'commander';
import { NAME_PATTERN } from '../protocol/identifiers.js';

/** A reverse-DNS name (an app id, a task identifier); `kind` names it in the message. */
export function reverseDnsName(kind: string) {
  return (value: string): string => {
    if (!NAME_PATTERN.test(value)) {
      const rule = 'a reverse-DNS name (letters, digits, ".", "_", "-")';
      throw new InvalidArgumentError(`${kind} must be ${rule}, got "${value}"`);
    }
    return value;
  };
}

export const appId = reverseDnsName('app id');
export const identifier = reverseDnsName('identifier');

export function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  }
  return parsed;
}

export function whole(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  }
  return parsed;
}
