/**
 * Fuzzing the daemon's boundaries with random and mutated inputs: the IPC socket (first frames, an
 * authenticated app session, control connections) and the HTTP server (the push route, the dashboard
 * API). Shared by test/integration/fuzz.test.ts (a bounded sample) and bench/fuzz.ts (the long run).
 *
 * Every case is made from its own generator, seeded from (seed, surface, case index), so a failure names
 * the seed and the case and the same stream comes back with the same seed. Cases are mostly mutations of
 * VALID frames and bodies, so they get past the first checks and reach the deeper ones; the rest is
 * random bytes and JSON. After each case the driver knows what the daemon must have done (an oracle that
 * runs the protocol's own schemas on the same lines), and it checks every answer: an error always has a
 * code, nothing answers "internal error", nothing hangs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as connectTcp, createConnection, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { z } from 'zod';
import { ControlClient } from '../../src/cli/controlClient.js';
import { compileDaemonOptions } from '../../src/daemon/options.js';
import { readDashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { FrameDecoder, encodeFrame } from '../../src/protocol/framing.js';
import {
  PROTOCOL_VERSION,
  appHelloSchema,
  appMessageSchema,
  controlHelloSchema,
  controlSchema,
  daemonMessageSchema,
} from '../../src/protocol/messages.js';
import { homePaths } from '../../src/shared/paths.js';
import { seededRandom } from '../../src/testing/testSystem.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
// The package's own better-sqlite3 (bench/ has its own copy for the peers).
const Database = createRequire(join(ROOT, 'package.json'))('better-sqlite3') as typeof BetterSqlite3;

export class Rng {
  readonly #next: () => number;
  constructor(readonly seed: number) {
    // The testing kit's seeded PRNG (mulberry32): small, fast, and the same stream on every machine.
    this.#next = seededRandom(seed);
  }

  /** A generator of its own for one part of the stream (a surface, a case), so cases replay alone. */
  derive(label: string | number): Rng {
    return new Rng(createHash('sha256').update(`${this.seed}/${label}`).digest().readUInt32LE(0));
  }

  float(): number {
    return this.#next();
  }

  /** 0 to max - 1. */
  int(max: number): number {
    return Math.floor(this.#next() * max);
  }

  /** min to max, both included. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

/** The seed: `BGTASKS_FUZZ_SEED`, or a new one (printed by the callers, so a failure can be replayed). */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.BGTASKS_FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff)
      throw new RangeError(`BGTASKS_FUZZ_SEED must be an integer from 0 to 4294967295, got ${given}`);
    return seed;
  }
  return Math.floor(Math.random() * 0x1_0000_0000);
}

/** Cases per surface: `BGTASKS_FUZZ_CASES`, else the fallback. */
export function fuzzCases(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const given = env.BGTASKS_FUZZ_CASES;
  if (given === undefined || given === '') return fallback;
  const cases = Number(given);
  if (!Number.isInteger(cases) || cases < 1)
    throw new RangeError(`BGTASKS_FUZZ_CASES must be a positive integer, got ${given}`);
  return cases;
}

// ---------------------------------------------------------------------------------------------------
// Random values
// ---------------------------------------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Numbers at and around every limit the schemas have (ints, safe ints, dates, durations, counts). */
export const INTERESTING_NUMBERS: readonly number[] = [
  0,
  -1,
  1,
  2,
  0.5,
  -0.5,
  1.0000001,
  5,
  10,
  63,
  64,
  65,
  100,
  101,
  255,
  256,
  1000,
  1001,
  4096,
  4097,
  10_000,
  10_001,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  8.64e12,
  8.64e12 + 1,
  8.64e15,
  8.64e15 + 1,
  366 * 24 * 60 * 60_000,
  366 * 24 * 60 * 60_000 + 1,
  16 * 1024 * 1024,
  1e21,
  1e308,
  -1e308,
  5e-324,
  Number.EPSILON,
];

/** Strings that look like numbers or keywords, and text that does not survive careless parsing. */
export const NANISH_STRINGS: readonly string[] = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-0',
  '0x10',
  '0o7',
  '0b1',
  '1_000',
  '+1',
  '.5',
  '5.',
  '1e-7',
  '',
  ' ',
  '\t',
  'null',
  'undefined',
  'true',
  'false',
  '[object Object]',
  '0',
  '1',
  '١٢٣',
  '½',
  '9'.repeat(400),
];

export const UNICODE_STRINGS: readonly string[] = [
  'é',
  'e\u0301',
  '\u0000',
  '\u200b',
  '\u202e',
  '\ufeff',
  'ı',
  'İ',
  'ß',
  '𝕏',
  '😀',
  '👩‍👩‍👧',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  'ｃｏｍ．ｅｘａｍｐｌｅ',
  '\u2028\u2029',
  '\r\n',
  '\n',
  '\t',
  '"',
  '\\',
  '\u007f',
  '\u0085',
  '%00',
  '../',
  'ﷺ',
  '\u{10ffff}',
];

/** Keys that reach Object.prototype in code that looks up plain objects by a name it was given. */
export const PROTO_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'isPrototypeOf',
];

const LONG_LENGTHS: readonly number[] = [
  16, 63, 64, 65, 100, 199, 200, 201, 255, 256, 257, 2000, 2001, 4096, 4097, 16_385, 65_536,
];

export function randomString(rng: Rng, dictionary: readonly string[] = []): string {
  switch (rng.int(6)) {
    case 0:
      return rng.pick(NANISH_STRINGS);
    case 1:
      return rng.pick(UNICODE_STRINGS).repeat(rng.between(1, 4));
    case 2:
      return dictionary.length > 0 ? rng.pick(dictionary) : rng.pick(PROTO_KEYS);
    case 3:
      return rng.pick(PROTO_KEYS);
    case 4:
      // Random code units, lone surrogates included.
      return String.fromCharCode(
        ...Array.from({ length: rng.between(0, 24) }, () =>
          rng.chance(0.7) ? rng.between(32, 126) : rng.int(0x1_0000),
        ),
      );
    default:
      return Array.from({ length: rng.between(1, 40) }, () => String.fromCharCode(rng.between(0x20, 0x7e))).join('');
  }
}

export function randomJson(rng: Rng, depth = 3, dictionary: readonly string[] = []): Json {
  const kind = depth <= 0 ? rng.int(4) : rng.int(6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.chance(0.6) ? rng.pick(INTERESTING_NUMBERS) : (rng.float() - 0.5) * 10 ** rng.int(20);
    case 3:
      return randomString(rng, dictionary);
    case 4:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth - 1, dictionary));
    default: {
      const object: JsonObject = {};
      for (let i = rng.int(5); i > 0; i--)
        setOwn(object, randomString(rng, dictionary), randomJson(rng, depth - 1, dictionary));
      return object;
    }
  }
}

/** An own, enumerable property even for `__proto__` (plain assignment would set the prototype instead). */
function setOwn(object: JsonObject, key: string, value: Json): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A deep copy that keeps own `__proto__` keys (JSON.parse makes them own properties). */
function cloneJson(value: Json): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

// ---------------------------------------------------------------------------------------------------
// Mutations of valid values (structural) and of their text (byte level)
// ---------------------------------------------------------------------------------------------------

type Container = Json[] | JsonObject;
interface Slot {
  readonly parent: Container | null;
  readonly key: string | number;
  readonly value: Json;
}

/** Every node of a value, the root first; bounded so a bloated value is not walked whole. */
function slots(root: Json, limit = 500): Slot[] {
  const out: Slot[] = [{ parent: null, key: '', value: root }];
  for (let i = 0; i < out.length && out.length < limit; i++) {
    const { value } = out[i]!;
    if (Array.isArray(value))
      value.slice(0, 50).forEach((item, index) => out.push({ parent: value, key: index, value: item }));
    else if (value !== null && typeof value === 'object')
      for (const key of Object.keys(value)) out.push({ parent: value, key, value: value[key]! });
  }
  return out;
}

function typeOf(value: Json): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Nesting: shallow as values; deep as a marker that {@link jsonBytes} expands in the text, since
 * JSON.stringify itself recurses and would overflow the test's own stack.
 */
function nest(rng: Rng, value: Json, depth: number): Json {
  const asArray = rng.chance(0.5);
  if (depth > 500) return `${DEEP_MARKER}:${depth}:${asArray ? 'array' : 'object'}`;
  let out = value;
  for (let i = 0; i < depth; i++) out = asArray ? [out] : { a: out };
  return out;
}

const DEEP_MARKER = 'bgtasks-fuzz-deep';
const DEEP_PATTERN = new RegExp(`"${DEEP_MARKER}:(\\d+):(array|object)"`, 'g');

function deepText(depth: number, kind: string): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}0${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`;
}

const STRUCTURAL_MUTATIONS = [
  'drop',
  'retype',
  'number',
  'nanish',
  'dictionary',
  'long',
  'unicode',
  'deep',
  'proto',
  'extraKey',
  'null',
  'empty',
  'bloat',
  'boolean',
  'wrap',
] as const;
type StructuralMutation = (typeof STRUCTURAL_MUTATIONS)[number];

/** One change somewhere in the value; the root may be replaced. Returns the new root. */
function mutateOnce(rng: Rng, root: Json, dictionary: readonly string[]): Json {
  const all = slots(root);
  const slot = rng.pick(all);
  const op: StructuralMutation = rng.pick(STRUCTURAL_MUTATIONS);
  const replace = (value: Json): Json => {
    if (slot.parent === null) return value;
    if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
    else setOwn(slot.parent, slot.key as string, value);
    return root;
  };
  switch (op) {
    case 'drop':
      if (slot.parent === null) return {};
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key as string];
      return root;
    case 'retype': {
      let value = randomJson(rng, 2, dictionary);
      for (let tries = 0; tries < 5 && typeOf(value) === typeOf(slot.value); tries++)
        value = randomJson(rng, 2, dictionary);
      return replace(value);
    }
    case 'number':
      return replace(rng.chance(0.8) ? rng.pick(INTERESTING_NUMBERS) : -rng.pick(INTERESTING_NUMBERS));
    case 'nanish':
      return replace(rng.pick(NANISH_STRINGS));
    case 'dictionary':
      return replace(dictionary.length > 0 ? rng.pick(dictionary) : randomString(rng));
    case 'long': {
      const unit = rng.chance(0.7) ? 'x' : rng.pick(UNICODE_STRINGS);
      return replace(unit.repeat(Math.ceil(rng.pick(LONG_LENGTHS) / unit.length)));
    }
    case 'unicode':
      if (typeof slot.value === 'string') {
        const at = rng.int(slot.value.length + 1);
        return replace(slot.value.slice(0, at) + rng.pick(UNICODE_STRINGS) + slot.value.slice(at));
      }
      return replace(rng.pick(UNICODE_STRINGS));
    case 'deep':
      // A million levels costs the daemon (and the oracle) a second to parse: rare.
      return replace(
        nest(
          rng,
          slot.value,
          rng.chance(0.02)
            ? rng.pick([100_000, 1_000_000])
            : rng.pick([2, 10, 100, 129, 400, 1000, 3000, 5000, 10_000]),
        ),
      );
    case 'proto':
    case 'extraKey': {
      const target = [slot.value, slot.parent, root].find(
        (candidate): candidate is JsonObject =>
          candidate !== null && typeof candidate === 'object' && !Array.isArray(candidate),
      );
      if (!target) return replace({ [rng.pick(PROTO_KEYS)]: randomJson(rng, 1, dictionary) });
      const key = op === 'proto' ? rng.pick(PROTO_KEYS) : randomString(rng, dictionary);
      setOwn(
        target,
        key,
        op === 'proto' && rng.chance(0.5)
          ? { polluted: true, toString: 'x', t: 'hello' }
          : randomJson(rng, 1, dictionary),
      );
      return root;
    }
    case 'null':
      return replace(null);
    case 'empty':
      return replace(rng.pick<Json>([[], {}, '', 0]));
    case 'bloat':
      // Arrays at and past their limits (10,000 requests, 1,000 ids, 4 actions).
      if (Array.isArray(slot.value) && slot.value.length > 0) {
        // 10,000 requests is a second of the daemon's time: rare.
        const length = rng.chance(0.05) ? rng.pick([10_000, 10_001]) : rng.pick([0, 4, 5, 17, 1000, 1001]);
        const item = slot.value[0]!;
        return replace(Array.from({ length }, () => item));
      }
      return replace([slot.value, slot.value]);
    case 'boolean':
      return replace(rng.pick<Json>([true, false, 'true', 0, 1, 'yes']));
    case 'wrap':
      return replace(rng.chance(0.5) ? [slot.value] : { value: slot.value });
    default: {
      const unreachable: never = op;
      throw new Error(`unknown mutation ${String(unreachable)}`);
    }
  }
}

/** One to three structural mutations of a copy of `seed`. */
export function mutateJson(rng: Rng, seed: Json, dictionary: readonly string[]): Json {
  let value = cloneJson(seed);
  for (let i = rng.between(1, 3); i > 0; i--) value = mutateOnce(rng, value, dictionary);
  return value;
}

const TEXT_MUTATIONS = [
  'truncate',
  'duplicateKey',
  'newlines',
  'garbage',
  'flip',
  'numberToken',
  'bom',
  'invalidUtf8',
  'protoText',
  'nul',
  'whitespace',
  'trailingComma',
  'concat',
] as const;

/** Tokens JSON.parse refuses or reads as something else, put where a number was. */
const BAD_NUMBER_TOKENS = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-1e999',
  '0x1F',
  '01',
  '+1',
  '.5',
  '1.',
  '-',
  '1e',
  '--1',
  '1_0',
];

function insertAt(text: Buffer, at: number, insert: Buffer): Buffer {
  return Buffer.concat([text.subarray(0, at), insert, text.subarray(at)]);
}

/** The text of a value, with a mutation at the byte level now and then. */
export function mutateText(rng: Rng, text: Buffer): Buffer {
  const op = rng.pick(TEXT_MUTATIONS);
  const at = rng.int(text.length + 1);
  switch (op) {
    case 'truncate':
      return text.subarray(0, rng.int(text.length));
    case 'duplicateKey': {
      // JSON.parse keeps the last of two equal keys: one dup first, one last, so either may win.
      const match = /"([^"\\]{1,40})":/.exec(text.toString('latin1'));
      if (!match || text[0] !== 0x7b) return text;
      const duplicate = Buffer.from(`"${match[1]}":${JSON.stringify(randomJson(rng, 1))}`);
      return rng.chance(0.5)
        ? Buffer.concat([Buffer.from('{'), duplicate, Buffer.from(','), text.subarray(1)])
        : Buffer.concat([text.subarray(0, text.length - 1), Buffer.from(','), duplicate, Buffer.from('}')]);
    }
    case 'newlines':
      return insertAt(text, at, Buffer.from(rng.pick(['\n', '\r\n', '\n\n', '\r', '\n \n', '\u2028'])));
    case 'garbage':
      return rng.chance(0.5) ? rng.bytes(rng.between(1, 512)) : insertAt(text, at, rng.bytes(rng.between(1, 16)));
    case 'flip': {
      const out = Buffer.from(text);
      for (let i = rng.between(1, 4); i > 0 && out.length > 0; i--) out[rng.int(out.length)] = rng.int(256);
      return out;
    }
    case 'numberToken': {
      const source = text.toString('latin1');
      const numbers = [...source.matchAll(/(?<=[:[,])-?\d[\d.eE+-]*/g)];
      if (numbers.length === 0) return text;
      const number = rng.pick(numbers);
      return Buffer.from(
        source.slice(0, number.index) + rng.pick(BAD_NUMBER_TOKENS) + source.slice(number.index + number[0].length),
        'latin1',
      );
    }
    case 'bom':
      return Buffer.concat([Buffer.from('\ufeff'), text]);
    case 'invalidUtf8':
      return insertAt(
        text,
        at,
        Buffer.from(rng.pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]])),
      );
    case 'protoText': {
      const brace = text.indexOf(0x7b);
      if (brace === -1) return text;
      return insertAt(
        text,
        brace + 1,
        Buffer.from(
          `"${rng.pick(PROTO_KEYS)}":${JSON.stringify(rng.pick<Json>([{ polluted: true }, null, 1, [], { t: 'hello', role: 'control' }]))},`,
        ),
      );
    }
    case 'nul':
      return insertAt(text, at, Buffer.from([0]));
    case 'whitespace':
      return Buffer.concat([Buffer.from(' \t'.repeat(rng.int(3))), text, Buffer.from(' \t\r'.repeat(rng.int(3)))]);
    case 'trailingComma': {
      const end = text.lastIndexOf(0x7d);
      return end === -1 ? text : insertAt(text, end, Buffer.from(','));
    }
    case 'concat':
      return Buffer.concat([text, text]);
    default: {
      const unreachable: never = op;
      throw new Error(`unknown text mutation ${String(unreachable)}`);
    }
  }
}

/** JSON text of a value (JSON.stringify escapes lone surrogates, so the text is valid UTF-8). */
function jsonBytes(value: Json): Buffer {
  return Buffer.from(
    JSON.stringify(value).replace(DEEP_PATTERN, (_, depth: string, kind: string) => deepText(Number(depth), kind)),
    'utf8',
  );
}

/**
 * One case's bytes from a valid seed: usually the seed mutated as a value, sometimes its text mutated
 * too, sometimes pure random bytes or JSON.
 */
export function mutateFrame(
  rng: Rng,
  seed: Json,
  dictionary: readonly string[],
  maxBytes: number,
  prepare: (value: Json) => Json = (value) => value,
): Buffer {
  const roll = rng.float();
  if (roll < 0.05) return rng.bytes(rng.between(1, 256));
  if (roll < 0.1) return jsonBytes(prepare(randomJson(rng, 4, dictionary)));
  if (roll < 0.15) return jsonBytes(prepare(cloneJson(seed)));
  const text = jsonBytes(prepare(mutateJson(rng, seed, dictionary)));
  return rng.chance(0.3) ? mutateText(rng, text) : text;
}

/**
 * A frame exactly at the size limit (a valid seed padded with whitespace, which JSON allows between
 * tokens: it must be taken), or one byte past it without a newline (it must be refused, `frameTooLarge`).
 */
export function limitFrame(seed: Json, maxBytes: number, kind: 'at' | 'over'): Buffer {
  if (kind === 'over') return Buffer.alloc(maxBytes + 1, 0x78);
  const text = jsonBytes(seed);
  if (text.length >= maxBytes || text[text.length - 1] !== 0x7d) return text;
  return Buffer.concat([
    text.subarray(0, text.length - 1),
    Buffer.alloc(maxBytes - text.length, 0x20),
    Buffer.from('}'),
  ]);
}

/**
 * Frames at the limit are 16 MiB, slow to send and parse: a few at fixed case numbers (one of each per
 * 1,000 cases) instead of many by chance.
 */
function limitCase(index: number): 'at' | 'over' | null {
  const slot = index % 1000;
  return slot === 100 ? 'at' : slot === 600 ? 'over' : null;
}

// ---------------------------------------------------------------------------------------------------
// What the daemon under fuzz has installed, and the valid seeds made from it
// ---------------------------------------------------------------------------------------------------

export const FIXTURES = join(ROOT, 'test', 'fixtures', 'apps');

/** The app whose session is fuzzed (the probe: fetch and processing, `work.*` family). */
export const FUZZ_APP = {
  appId: 'com.test.probe',
  dir: join(FIXTURES, 'probe'),
  identifiers: [
    'com.test.probe.refresh',
    'com.test.probe.stubborn',
    'com.test.probe.work.fuzz',
    'com.test.probe.unhandled',
  ],
} as const;
/** The app holding the legitimate task that must come through the fuzz intact; no case names it. */
export const LEGIT_APP = {
  appId: 'com.test.checkgood',
  dir: join(FIXTURES, 'check-good'),
  identifier: 'com.test.checkgood.refresh',
} as const;
/** The app pushes go to; switched off, so accepted pushes are stored and held, never launched. */
export const PUSH_APP = { appId: 'com.test.pushsink', dir: join(FIXTURES, 'push-sink') } as const;
const INSTALLED: readonly string[] = [FUZZ_APP.appId, LEGIT_APP.appId, PUSH_APP.appId];
const UNKNOWN_APP = 'com.fuzz.nobody';

/** Mirrors the command table of src/daemon/control.ts (and `watch`, which the socket answers itself). */
export const CONTROL_COMMANDS = [
  'status',
  'install',
  'uninstall',
  'apps.token',
  'push',
  'pushes',
  'notifications',
  'notifications.allow',
  'notifications.deny',
  'notifications.act',
  'notifications.dismiss',
  'apps',
  'enable',
  'disable',
  'open',
  'quit',
  'pending',
  'history',
  'why',
  'why.app',
  'run',
  'expire',
  'snapshot',
  'cancelTask',
  'cancelQueued',
  'conditions',
  'conditions.set',
  'conditions.reset',
  'watch',
] as const;

export interface FuzzContext {
  readonly seed: number;
  readonly socketPath: string;
  readonly port: number;
  readonly storeFile: string;
  readonly maxFrameBytes: number;
  readonly credential: string;
  readonly dashboardToken: string;
  readonly pushToken: string;
  /** The legitimate request as stored before the fuzz. */
  readonly legitRow: Record<string, unknown>;
  /** Task ids the daemon handed the fuzzed session: mutations of started/completed use them. */
  readonly taskIds: string[];
}

/** Far enough ahead that nothing a seed submits is due during the run. */
const FAR_FUTURE = Date.UTC(2100, 0, 1);

function dictionary(context: FuzzContext): string[] {
  return [
    ...FUZZ_APP.identifiers,
    FUZZ_APP.appId,
    UNKNOWN_APP,
    'com.test.probe.*',
    'com.test.probe.work.*',
    'bgtasks.remote-notification',
    'com.other.refresh',
    'hello',
    'submit',
    'cancel',
    'pending',
    'explain',
    'started',
    'progress',
    'completed',
    'notify',
    'authorize',
    'pushCounts',
    'actionsHandled',
    'control',
    'app',
    'control',
    'refresh',
    'processing',
    'continued',
    'push',
    'exponential',
    'linear',
    'fail',
    'queue',
    'newData',
    'noData',
    'failed',
    'cpu',
    'gpu',
    ...CONTROL_COMMANDS,
    'power=battery',
    'thermalState=critical',
    'batteryLevel=101',
    'idleSince=1',
    'constructor=1',
    '=',
    'power',
    'lowPowerMode=on',
    ...context.taskIds.slice(-20),
    '00000000-0000-0000-0000-000000000000',
    context.credential,
    ...PROTO_KEYS,
  ];
}

function request(overrides: JsonObject): JsonObject {
  return {
    identifier: 'com.test.probe.refresh',
    kind: 'refresh',
    earliestBeginAt: FAR_FUTURE,
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    ...overrides,
  };
}

export function appHelloSeed(context: FuzzContext): JsonObject {
  return {
    t: 'hello',
    v: PROTOCOL_VERSION,
    role: 'app',
    appId: FUZZ_APP.appId,
    credential: context.credential,
    pid: 4242,
    launchId: null,
    registered: ['com.test.probe.refresh', 'com.test.probe.work.*', 'bgtasks.remote-notification'],
    notificationActions: true,
  };
}

const CONTROL_HELLO: JsonObject = { t: 'hello', v: PROTOCOL_VERSION, role: 'control' };

/** Every app frame, valid, with the fields that have defaults sometimes given. */
export function appFrameSeeds(context: FuzzContext): JsonObject[] {
  const taskId = context.taskIds.at(-1) ?? '3f1c2f4e-0000-4000-8000-000000000001';
  return [
    { t: 'submit', id: 1, requests: [request({})] },
    {
      t: 'submit',
      id: 2,
      requests: [
        request({
          identifier: 'com.test.probe.work.fuzz',
          kind: 'processing',
          requiresNetworkConnectivity: true,
          requiresExternalPower: true,
          requiresUnmeteredNetwork: true,
          retry: { maxAttempts: 3, backoff: 'linear', initialDelay: 1000, maxDelay: 60_000 },
        }),
      ],
    },
    {
      t: 'submit',
      id: 3,
      requests: [
        request({ interval: 3_600_000, tolerance: 60_000 }),
        request({ identifier: 'com.test.probe.stubborn' }),
      ],
    },
    {
      t: 'submit',
      id: 4,
      requests: [
        request({
          identifier: 'com.test.probe.work.continued',
          kind: 'continued',
          earliestBeginAt: null,
          continued: { title: 'Exporting', subtitle: '3 files', strategy: 'fail', requiredResources: ['gpu'] },
        }),
      ],
    },
    { t: 'cancel', id: 5, identifiers: ['com.test.probe.work.fuzz', 'com.test.probe.refresh'] },
    { t: 'cancel', id: 6, identifiers: null },
    { t: 'pending', id: 7 },
    { t: 'explain', id: 8, identifier: 'com.test.probe.refresh' },
    { t: 'started', taskIds: [taskId] },
    { t: 'progress', updates: [{ taskId, completed: 1, total: 10, title: 'Working', subtitle: 'one of ten' }] },
    { t: 'completed', completions: [{ taskId, success: true, reason: null, error: null, result: null }] },
    {
      t: 'completed',
      completions: [{ taskId, success: false, reason: 'handlerThrew', error: 'boom', result: 'failed' }],
    },
    {
      t: 'notify',
      id: 9,
      notification: {
        title: 'Hello',
        body: 'from the fuzzer',
        threadId: 'com.test.probe.thread',
        actions: [{ id: 'com.test.probe.open', title: 'Open' }],
      },
    },
    { t: 'authorize', id: 10 },
    { t: 'pushCounts', id: 11 },
    { t: 'actionsHandled', notificationIds: ['n-1', '00000000-0000-0000-0000-000000000000'] },
  ];
}

/**
 * Every control command with valid arguments (the ones that would launch or remove apps are defused by {@link
 * defuseControl}).
 */
export function controlFrameSeeds(context: FuzzContext): JsonObject[] {
  const app = FUZZ_APP.appId;
  const taskId = context.taskIds.at(-1) ?? '3f1c2f4e-0000-4000-8000-000000000001';
  const args: Record<string, JsonObject> = {
    status: {},
    apps: {},
    snapshot: {},
    conditions: {},
    'conditions.reset': {},
    watch: {},
    install: { dir: '/nonexistent/fuzz/app', rotateCredential: false },
    uninstall: { appId: UNKNOWN_APP },
    'apps.token': { appId: app, rotate: false },
    push: {
      appId: PUSH_APP.appId,
      data: { n: 1, s: 'x' },
      priority: 5,
      collapseId: 'fuzz-1',
      expiration: Math.floor(FAR_FUTURE / 1000),
    },
    pushes: { appId: PUSH_APP.appId, state: 'pending', limit: 5 },
    notifications: { appId: app, limit: 5 },
    'notifications.allow': { appId: app },
    'notifications.deny': { appId: app },
    'notifications.act': { notificationId: '00000000-0000-0000-0000-000000000000', actionId: 'com.test.probe.open' },
    'notifications.dismiss': { notificationId: '00000000-0000-0000-0000-000000000000' },
    enable: { appId: app },
    disable: { all: true },
    open: { appId: UNKNOWN_APP },
    quit: { appId: UNKNOWN_APP },
    pending: { appId: app },
    history: { appId: app, identifier: 'com.test.probe.refresh', limit: 5, events: true },
    why: { appId: app, identifier: 'com.test.probe.refresh' },
    'why.app': { appId: app },
    run: { appId: UNKNOWN_APP, identifier: 'com.test.probe.refresh', kind: 'refresh' },
    expire: { appId: app, identifier: 'com.test.probe.refresh' },
    cancelTask: { taskId },
    cancelQueued: { appId: app, identifier: 'com.test.probe.work.continued' },
    'conditions.set': { assignments: ['power=ac', 'thermalState=nominal'] },
  };
  return CONTROL_COMMANDS.map((command, index) => ({
    t: 'control',
    id: index + 1,
    command,
    args: args[command] ?? {},
  }));
}

/**
 * Commands that never name an installed app: they would remove, launch or quit it, or let it post
 * notifications (which would then show the fuzz's on the desktop of whoever runs it).
 */
const NEVER_INSTALLED = ['uninstall', 'open', 'quit', 'run', 'notifications.allow'];
/**
 * Commands that never name the legitimate app or the push app: they would switch it on, rotate its token, or touch its
 * work.
 */
const NEVER_PROTECTED = ['enable', 'disable', 'cancelQueued', 'expire', 'apps.token'];

/**
 * The fuzz must not take its own ground away: control cases never remove, launch or quit an installed
 * app, never switch on the push app (its held pushes would launch it), never rotate its push token, and
 * never touch the legitimate app's work; nothing installs a real directory. Everything else goes through
 * (pushes to the push app, read-only commands about any app).
 */
export function defuseControl(frame: Json): Json {
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) return frame;
  const { command, args } = frame;
  if (typeof command !== 'string' || args === null || typeof args !== 'object' || Array.isArray(args)) return frame;
  const appId = Object.hasOwn(args, 'appId') ? args.appId : undefined;
  const never: readonly string[] = NEVER_INSTALLED.includes(command)
    ? INSTALLED
    : NEVER_PROTECTED.includes(command)
      ? [LEGIT_APP.appId, PUSH_APP.appId]
      : [];
  if (typeof appId === 'string' && never.includes(appId)) setOwn(args, 'appId', UNKNOWN_APP);
  if (command === 'install' && Object.hasOwn(args, 'dir') && typeof args.dir === 'string')
    setOwn(args, 'dir', `/nonexistent/fuzz/${args.dir.slice(0, 64)}`);
  return frame;
}

// ---------------------------------------------------------------------------------------------------
// A raw IPC connection
// ---------------------------------------------------------------------------------------------------

type Frame = Record<string, unknown>;

/** A failure guard for one case: the daemon answers in milliseconds; this only turns a hang into a failure. */
const CASE_GUARD_MS = 15_000;

export class Wire {
  readonly frames: Frame[] = [];
  /** Lines from the daemon that are not valid JSON, or not a daemon message. */
  readonly malformed: string[] = [];
  closed = false;
  /**
   * Our write failed (EPIPE: the daemon closed while we were still sending). Node then destroys the
   * socket, and what the daemon sent before closing may be lost with it: no error frame is no fault then.
   */
  writeFailed = false;
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder(256 * 1024 * 1024);
  #wake: (() => void) | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {
      this.writeFailed = true; // 'close' follows
    });
    socket.once('close', () => {
      this.closed = true;
      this.#wake?.();
    });
  }

  static connect(socketPath: string): Promise<Wire> {
    return new Promise((resolvePromise, reject) => {
      const socket = createConnection(socketPath);
      socket.once('connect', () => resolvePromise(new Wire(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `parts` one after the other, a turn of the event loop apart, so the daemon may see partial frames. */
  async write(parts: readonly Buffer[]): Promise<void> {
    for (const [index, part] of parts.entries()) {
      if (this.closed || this.#socket.destroyed) return;
      if (!this.#socket.write(part))
        await new Promise<void>((resolvePromise) =>
          this.#socket.once('drain', resolvePromise).once('close', resolvePromise),
        );
      if (index < parts.length - 1) await new Promise((resolvePromise) => setImmediate(resolvePromise));
    }
  }

  /** Resolves true once `done()` holds or the daemon closed; false when the guard ran out (a hang). */
  async until(done: () => boolean, guardMs = CASE_GUARD_MS): Promise<boolean> {
    const deadline = Date.now() + guardMs;
    while (!done() && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolvePromise) => {
        const guard = setTimeout(resolvePromise, left);
        this.#wake = () => {
          clearTimeout(guard);
          resolvePromise();
        };
      });
      this.#wake = null;
    }
    return true;
  }

  reply(id: number): Frame | undefined {
    return this.frames.find((frame) => frame.t === 'reply' && frame.id === id);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    for (const line of this.#decoder.push(chunk)) {
      let frame: unknown;
      try {
        frame = JSON.parse(line);
      } catch {
        this.malformed.push(line.slice(0, 200));
        continue;
      }
      if (!daemonMessageSchema.safeParse(frame).success) this.malformed.push(line.slice(0, 200));
      this.frames.push(frame as Frame);
    }
    this.#wake?.();
  }
}

// ---------------------------------------------------------------------------------------------------
// The oracle: what the daemon must do with a case's lines
// ---------------------------------------------------------------------------------------------------

interface LineVerdict {
  /** A line the daemon must refuse (and close the connection). */
  readonly invalid: boolean;
  /** Ids of the valid frames (before an invalid one) that expect a reply. */
  readonly ids: readonly number[];
}

/** Splits the bytes into lines exactly as the daemon does, and checks each against the schema it uses. */
export function judgeLines(bytes: Buffer, schema: z.ZodType, maxFrameBytes: number): LineVerdict {
  const decoder = new FrameDecoder(maxFrameBytes);
  let lines: string[];
  try {
    lines = decoder.push(bytes);
    decoder.push(Buffer.from('\n')).forEach((line) => lines.push(line));
  } catch {
    return { invalid: true, ids: [] };
  }
  const ids: number[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    let frame: unknown;
    try {
      frame = JSON.parse(line);
    } catch {
      return { invalid: true, ids };
    }
    const parsed = schema.safeParse(frame);
    if (!parsed.success) return { invalid: true, ids };
    const { id } = parsed.data as { id?: unknown };
    if (typeof id === 'number') ids.push(id);
  }
  return { invalid: false, ids };
}

/**
 * Whether a first frame must be welcomed: a valid control hello, or a valid hello of the fuzzed app with its
 * credential.
 */
function helloWelcomed(bytes: Buffer, context: FuzzContext): boolean {
  const decoder = new FrameDecoder(context.maxFrameBytes);
  let lines: string[];
  try {
    lines = [...decoder.push(bytes), ...decoder.push(Buffer.from('\n'))];
  } catch {
    return false;
  }
  const first = lines.find((line) => line.trim() !== '');
  if (first === undefined) return false;
  let frame: unknown;
  try {
    frame = JSON.parse(first);
  } catch {
    return false;
  }
  const hello = frame as { t?: unknown; v?: unknown; role?: unknown } | null;
  if (hello?.t !== 'hello' || hello.v !== PROTOCOL_VERSION) return false;
  if (hello.role === 'control') return controlHelloSchema.safeParse(frame).success;
  const parsed = appHelloSchema.safeParse(frame);
  return parsed.success && parsed.data.appId === FUZZ_APP.appId && parsed.data.credential === context.credential;
}

// ---------------------------------------------------------------------------------------------------
// Surfaces
// ---------------------------------------------------------------------------------------------------

export const SURFACES = ['ipc-hello', 'ipc-app', 'ipc-control', 'http-push', 'http-dashboard'] as const;
export type SurfaceName = (typeof SURFACES)[number];

export interface SurfaceReport {
  readonly surface: SurfaceName;
  cases: number;
  /** The daemon process died. */
  crashes: number;
  /** A case the daemon neither answered nor closed within the guard. */
  hangs: number;
  /** Refusals with a code: error frames, `ok: false` replies, HTTP 4xx. */
  errorsAnswered: number;
  /** Cases taken: welcomes, `ok: true` replies, HTTP 2xx/3xx. */
  accepted: number;
  /** `internalError` codes and HTTP 5xx from our server: input the boundary let through to something that threw. */
  internalErrors: number;
  /** Error frames, replies or JSON error bodies without a code. */
  errorsWithoutCode: number;
  /** The daemon did something else than the protocol's schemas say (took an invalid frame, refused a valid one). */
  mismatches: number;
  /** Health checks run during and after the surface, and the problems they found. */
  healthChecks: number;
  healthProblems: number;
  readonly failures: string[];
  durationMs: number;
  /** How long cases took, sending to the last answer (the slowest are the 16 MiB frames and the deepest nesting). */
  p99CaseMs: number;
  maxCaseMs: number;
}

export interface FuzzTarget {
  /** Whether the daemon process is still running. */
  alive(): boolean;
}

export interface SurfaceOptions {
  readonly cases: number;
  /** A health check every this many cases (and one at the end). */
  readonly healthEvery: number;
  /** Stop at the first failure (the test), or count them all (the benchmark). */
  readonly stopOnFailure: boolean;
  /** Cases in flight at once, each on its own connection. */
  readonly concurrency: number;
}

interface CaseOutcome {
  hang?: boolean;
  problems: string[];
  errors: number;
  accepted: number;
  internal: number;
  withoutCode: number;
  mismatch: number;
}

const newOutcome = (): CaseOutcome => ({
  problems: [],
  errors: 0,
  accepted: 0,
  internal: 0,
  withoutCode: 0,
  mismatch: 0,
});

/**
 * Counts the errors and acceptances in frames the daemon sent (the barrier's reply aside), and checks every error has a
 * code.
 */
function tallyFrames(
  frames: readonly Frame[],
  outcome: CaseOutcome,
  allowedCodes: readonly string[],
  barrier: number,
): void {
  for (const frame of frames) {
    if (frame.t === 'reply' && frame.id === barrier && frame.ok === true) continue;
    const error =
      frame.t === 'error' ? frame.error : frame.t === 'reply' && frame.ok === false ? frame.error : undefined;
    if (frame.t === 'welcome' || (frame.t === 'reply' && frame.ok === true)) outcome.accepted += 1;
    if (frame.t !== 'error' && !(frame.t === 'reply' && frame.ok === false)) continue;
    outcome.errors += 1;
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string' || code === '') {
      outcome.withoutCode += 1;
      outcome.problems.push(`an error without a code: ${JSON.stringify(frame).slice(0, 300)}`);
    } else if (code === 'internalError') {
      outcome.internal += 1;
      outcome.problems.push(`internalError: ${JSON.stringify(frame).slice(0, 300)}`);
    } else if (frame.t === 'error' && !allowedCodes.includes(code)) {
      outcome.mismatch += 1;
      outcome.problems.push(`unexpected error code ${code}: ${JSON.stringify(frame).slice(0, 300)}`);
    }
  }
}

const BARRIER_BASE = 7_340_032_000;

/**
 * Unauthenticated connections: a mutated first frame, then a control frame the daemon answers only after a control
 * hello.
 */
async function helloCase(rng: Rng, context: FuzzContext, index: number): Promise<CaseOutcome> {
  const seed = rng.pick<Json>([
    appHelloSeed(context),
    CONTROL_HELLO,
    appHelloSeed(context),
    {
      t: 'hello',
      v: PROTOCOL_VERSION,
      role: 'app',
      appId: LEGIT_APP.appId,
      credential: 'x'.repeat(43),
      pid: 1,
      launchId: null,
      registered: [],
    },
  ]);
  const limit = limitCase(index);
  const bytes = limit
    ? limitFrame(seed, context.maxFrameBytes, limit)
    : mutateFrame(rng, seed, dictionary(context), context.maxFrameBytes);
  const barrier = BARRIER_BASE + index;
  const outcome = newOutcome();
  const wire = await Wire.connect(context.socketPath);
  try {
    await wire.write([
      ...split(rng, bytes),
      Buffer.from(`\n${encodeFrame({ t: 'control', id: barrier, command: 'status', args: {} })}`),
    ]);
    if (!(await wire.until(() => wire.reply(barrier) !== undefined)))
      return { ...outcome, hang: true, problems: ['no answer to a first frame'] };
    tallyFrames(
      wire.frames,
      outcome,
      ['protocolError', 'unsupportedProtocolVersion', 'unknownApp', 'badCredential', 'frameTooLarge'],
      barrier,
    );
    const welcomed = wire.frames.some((frame) => frame.t === 'welcome');
    const expected = helloWelcomed(bytes, context);
    if (welcomed !== expected) {
      outcome.mismatch += 1;
      outcome.problems.push(expected ? 'a valid hello was refused' : 'an invalid hello was welcomed');
    }
    if (!welcomed && !wire.frames.some((frame) => frame.t === 'error') && !wire.writeFailed) {
      outcome.mismatch += 1;
      outcome.problems.push(`closed without an error frame: ${preview(bytes)}`);
    }
    checkMalformed(wire, outcome);
    return outcome;
  } finally {
    wire.destroy();
  }
}

/** The start of a case's bytes, for a failure message. */
function preview(bytes: Buffer): string {
  return `${bytes.length} bytes: ${JSON.stringify(bytes.subarray(0, 240).toString('utf8'))}`;
}

function checkMalformed(wire: Wire, outcome: CaseOutcome): void {
  if (wire.malformed.length === 0) return;
  outcome.mismatch += 1;
  outcome.problems.push(`the daemon sent a frame that is not a daemon message: ${wire.malformed[0]}`);
}

/** Splits bytes into one or two writes. */
function split(rng: Rng, bytes: Buffer): Buffer[] {
  if (bytes.length < 2 || rng.chance(0.7)) return [bytes];
  const cut = rng.between(1, bytes.length - 1);
  return [bytes.subarray(0, cut), bytes.subarray(cut)];
}

/** An IPC connection reused across cases until the daemon closes it. */
class Session {
  #wire: Wire | null = null;
  constructor(
    readonly context: FuzzContext,
    readonly hello: () => Json,
  ) {}

  async open(): Promise<Wire> {
    if (this.#wire && !this.#wire.closed) return this.#wire;
    const wire = await Wire.connect(this.context.socketPath);
    await wire.write([Buffer.from(encodeFrame(this.hello()))]);
    if (!(await wire.until(() => wire.frames.some((frame) => frame.t === 'welcome'))) || wire.closed) {
      wire.destroy();
      throw new Error(`the daemon did not welcome a valid hello: ${JSON.stringify(wire.frames).slice(0, 500)}`);
    }
    wire.frames.length = 0;
    this.#wire = wire;
    return wire;
  }

  close(): void {
    this.#wire?.destroy();
    this.#wire = null;
  }
}

/**
 * One case on a reused session: the mutated frame(s), then a barrier frame. Valid frames must be
 * answered (and the barrier too); an invalid one must close the connection with an error frame.
 */
async function sessionCase(
  session: Session,
  bytes: Buffer,
  barrierFrame: Frame,
  schema: z.ZodType,
  rng: Rng,
): Promise<CaseOutcome> {
  const outcome = newOutcome();
  const { context } = session;
  const wire = await session.open();
  const verdict = judgeLines(bytes, schema, context.maxFrameBytes);
  const barrier = barrierFrame.id as number;
  const expected = [...verdict.ids, barrier];
  const answered = (): boolean => {
    const seen = new Map<number, number>();
    for (const frame of wire.frames)
      if (frame.t === 'reply' && typeof frame.id === 'number') seen.set(frame.id, (seen.get(frame.id) ?? 0) + 1);
    return expected.every((id) => (seen.get(id) ?? 0) >= expected.filter((other) => other === id).length);
  };
  await wire.write([...split(rng, bytes), Buffer.from(`\n${encodeFrame(barrierFrame)}`)]);
  // After an invalid line the daemon reads nothing more: the barrier's reply would mean it took the line.
  if (!(await wire.until(verdict.invalid ? () => wire.reply(barrier) !== undefined : answered))) {
    session.close();
    return { ...outcome, hang: true, problems: [`no reply to ${expected.join(', ')} and no close`] };
  }
  if (verdict.invalid && !wire.closed) {
    outcome.mismatch += 1;
    outcome.problems.push(`an invalid frame was taken: ${preview(bytes)}`);
  }
  learnTaskIds(wire.frames, context);
  // A session that keeps sending frames about tasks it does not hold is closed (strayTaskFrames, see
  // docs/security.md): over thousands of cases on one session the fuzzer's valid completions add up to that.
  const terminated = wire.frames.some(
    (frame) =>
      frame.t === 'terminate' ||
      (frame.t === 'error' && (frame.error as { code?: unknown } | undefined)?.code === 'strayTaskFrames'),
  );
  tallyFrames(wire.frames, outcome, ['protocolError', 'frameTooLarge', 'strayTaskFrames'], barrier);
  if (wire.closed && !verdict.invalid && !terminated) {
    outcome.mismatch += 1;
    outcome.problems.push(
      `a valid frame closed the connection: ` +
        `${JSON.stringify(wire.frames.filter((frame) => frame.t === 'error')).slice(0, 300)}`,
    );
  }
  if (
    wire.closed &&
    verdict.invalid &&
    !terminated &&
    !wire.frames.some((frame) => frame.t === 'error') &&
    !wire.writeFailed
  ) {
    outcome.mismatch += 1;
    outcome.problems.push(`closed without an error frame: ${preview(bytes)}`);
  }
  checkMalformed(wire, outcome);
  wire.frames.length = 0;
  if (wire.closed) session.close();
  return outcome;
}

function learnTaskIds(frames: readonly Frame[], context: FuzzContext): void {
  for (const frame of frames) {
    if (frame.t !== 'tasks' || !Array.isArray(frame.tasks)) continue;
    for (const task of frame.tasks as { taskId?: unknown }[])
      if (typeof task.taskId === 'string') context.taskIds.push(task.taskId);
  }
  if (context.taskIds.length > 100) context.taskIds.splice(0, context.taskIds.length - 100);
}

/** Mostly one mutated frame; sometimes a valid one before or after it. */
function sessionBytes(
  rng: Rng,
  index: number,
  seeds: readonly JsonObject[],
  context: FuzzContext,
  prepare: (frame: Json) => Json = (frame) => frame,
): Buffer {
  const limit = limitCase(index);
  if (limit) return limitFrame(prepare(cloneJson(rng.pick(seeds))), context.maxFrameBytes, limit);
  const words = dictionary(context);
  const single = mutateFrame(rng, rng.pick(seeds), words, context.maxFrameBytes, prepare);
  if (rng.chance(0.8)) return single;
  const valid = jsonBytes(prepare(cloneJson(rng.pick(seeds))));
  return rng.chance(0.5)
    ? Buffer.concat([valid, Buffer.from('\n'), single])
    : Buffer.concat([single, Buffer.from('\n'), valid]);
}

// ---- HTTP ----

interface HttpAnswer {
  readonly status: number | null;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends raw bytes to the HTTP port and reads what comes back until the server closes (or the first event-stream
 * headers).
 */
function rawHttp(port: number, bytes: Buffer): Promise<HttpAnswer | 'hang'> {
  return new Promise((resolvePromise) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const finish = (result: HttpAnswer | 'hang'): void => {
      clearTimeout(guard);
      socket.destroy();
      resolvePromise(result);
    };
    const guard = setTimeout(() => finish('hang'), CASE_GUARD_MS);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = parseHttp(Buffer.concat(chunks));
      // The event stream never ends by itself: its headers are the answer.
      if (answer.status !== null && (answer.headers['content-type'] ?? '').startsWith('text/event-stream'))
        finish(answer);
    });
    socket.once('close', () => finish(parseHttp(Buffer.concat(chunks))));
    socket.once('connect', () => {
      socket.write(bytes);
      socket.end(); // half-close: the server answers what it got, then closes
    });
  });
}

/** The first final response in what the server sent (a `100 Continue` before it is skipped). */
function parseHttp(raw: Buffer): HttpAnswer {
  // latin1: one character per byte, so offsets in the text are offsets in the buffer.
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (status && status[1]!.startsWith('1') && end !== -1) return parseHttp(raw.subarray(end + 4));
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? NaN);
  const rest = end === -1 ? Buffer.alloc(0) : raw.subarray(end + 4);
  return {
    status: status ? Number(status[1]) : null,
    headers,
    body: (Number.isInteger(length) ? rest.subarray(0, length) : rest).toString('utf8'),
  };
}

interface HttpRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer;
}

const METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'get',
  'post',
  'PROPFIND',
  'M-SEARCH',
  'CONNECT',
  'POST ',
  'G\u00e9T',
  'X'.repeat(100),
];
const PATH_SEGMENTS = [
  'v1',
  'apps',
  'push',
  'snapshot',
  'events',
  'tasks',
  'cancel',
  'queue',
  'enable',
  'disable',
  'notifications',
  'actions',
  'dismiss',
  'switch',
  'index.html',
  'app.js',
  'style.css',
  '..',
  '.',
  '',
  '%2e%2e',
  '%2F',
  '%',
  '%zz',
  '%00',
  '%C0%AE',
  FUZZ_APP.appId,
  UNKNOWN_APP,
  'constructor',
  '__proto__',
  'toString',
  'a'.repeat(300),
  'ü',
  '😀',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  'application/jsonp',
  'application/json, text/plain',
];

function pushSeeds(): JsonObject[] {
  return [
    { data: { n: 1 } },
    { data: 'hello', priority: 5, collapseId: 'fuzz-c1', expiration: Math.floor(FAR_FUTURE / 1000) },
    { data: [1, 2, { x: null }], priority: 10, expiration: 0 },
    { data: null },
    { data: { nested: { deeper: [true, false] } }, priority: 10 },
  ];
}

interface DashboardSeed {
  readonly method: string;
  readonly path: string;
  readonly body: Json | undefined;
}

function dashboardSeeds(context: FuzzContext): DashboardSeed[] {
  const app = FUZZ_APP.appId;
  const taskId = context.taskIds.at(-1) ?? '3f1c2f4e-0000-4000-8000-000000000001';
  return [
    { method: 'GET', path: '/v1/snapshot', body: undefined },
    { method: 'GET', path: '/v1/events', body: undefined },
    { method: 'POST', path: `/v1/tasks/${taskId}/cancel`, body: {} },
    { method: 'POST', path: `/v1/apps/${app}/queue/com.test.probe.work.continued/cancel`, body: {} },
    { method: 'POST', path: `/v1/apps/${app}/enable`, body: undefined },
    { method: 'POST', path: `/v1/apps/${app}/disable`, body: {} },
    { method: 'POST', path: `/v1/apps/${app}/notifications`, body: { allowed: true } },
    { method: 'POST', path: `/v1/apps/${app}/notifications`, body: { allowed: false } },
    {
      method: 'POST',
      path: '/v1/notifications/00000000-0000-0000-0000-000000000000/actions/com.test.probe.open',
      body: {},
    },
    { method: 'POST', path: '/v1/notifications/00000000-0000-0000-0000-000000000000/dismiss', body: undefined },
    { method: 'POST', path: '/v1/switch', body: { enabled: true } },
    { method: 'GET', path: '/', body: undefined },
    { method: 'GET', path: `/?token=${context.dashboardToken}`, body: undefined },
    { method: 'GET', path: '/app.js', body: undefined },
    { method: 'HEAD', path: '/index.html', body: undefined },
  ];
}

function mutatePath(rng: Rng, path: string): string {
  const [pathname = '', query] = path.split('?');
  const segments = pathname.split('/');
  switch (rng.int(8)) {
    case 0:
      segments[rng.int(segments.length)] = rng.pick(PATH_SEGMENTS);
      break;
    case 1:
      segments.splice(rng.int(segments.length + 1), 0, rng.pick(PATH_SEGMENTS));
      break;
    case 2:
      segments.splice(rng.int(segments.length), 1);
      break;
    case 3:
      return `${pathname}?${rng.pick(['token=', 'token=x', `a=${'%'.repeat(3)}`, 'token=a&token=b', '%%', ''])}`;
    case 4:
      return `${pathname}${rng.pick(['#frag', '/', '//', '/.', '%20', ';x', '\u0000'])}`;
    case 5:
      return rng.pick([
        '*',
        'http://127.0.0.1/v1/snapshot',
        'http://[::1',
        '//evil.example/v1/snapshot',
        '',
        ' ',
        '/%',
        'v1/snapshot',
      ]);
    case 6:
      return `/${'a/'.repeat(rng.pick([10, 1000, 5000]))}`;
    default:
      segments[rng.int(segments.length)] = percentEncode(randomString(rng)).slice(0, 300);
  }
  return segments.join('/') + (query === undefined ? '' : `?${query}`);
}

/** Like encodeURIComponent, but of the UTF-8 bytes, so lone surrogates do not throw. */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/**
 * The dashboard may switch the legitimate and push apps neither on nor off, nor cancel their work, and
 * allows no installed app's notifications (see {@link NEVER_INSTALLED}).
 */
function defusePath(path: string): string {
  const pathname = path.split('?')[0] ?? '';
  if (/^\/v1\/apps\/[^/?#]*\/push$/.test(pathname)) return path;
  const protectedApps: readonly string[] = /\/notifications\/?$/.test(pathname)
    ? INSTALLED
    : [LEGIT_APP.appId, PUSH_APP.appId];
  return path
    .split('/')
    .map((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // left as it is: the server refuses it too
      }
      return protectedApps.includes(decoded) ? UNKNOWN_APP : segment;
    })
    .join('/');
}

function httpBytes(rng: Rng, request: HttpRequest): Buffer {
  const head =
    `${request.method} ${request.path} ` +
    `HTTP/1.1\r\n${request.headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  const bytes = Buffer.concat([Buffer.from(head, 'utf8'), request.body]);
  return rng.chance(0.08) ? mutateText(rng, bytes) : bytes;
}

/** Headers around a body: mostly right (so the body reaches the schema), sometimes wrong in every way HTTP allows. */
function httpHeaders(rng: Rng, context: FuzzContext, token: string | null, body: Buffer): [string, string][] {
  const headers: [string, string][] = [
    [
      'Host',
      rng.chance(0.95)
        ? `127.0.0.1:${context.port}`
        : rng.pick(['localhost', 'evil.example', `127.0.0.1:${context.port + 1}`, '', '127.0.0.1:abc', '[::1]']),
    ],
  ];
  if (token !== null)
    headers.push(
      rng.chance(0.85)
        ? ['Authorization', `Bearer ${token}`]
        : rng.pick<[string, string]>([
            ['Cookie', `bgtasks_${context.port}=${token}`],
            ['Authorization', `bearer  ${token}  `],
            ['Authorization', `Basic ${token}`],
            ['Authorization', token],
          ]),
    );
  if (body.length > 0 || rng.chance(0.3)) {
    headers.push(['Content-Type', rng.chance(0.85) ? 'application/json' : rng.pick(CONTENT_TYPES)]);
    const roll = rng.float();
    if (roll < 0.85) headers.push(['Content-Length', String(body.length)]);
    else if (roll < 0.9) headers.push(['Transfer-Encoding', 'chunked']);
    else
      headers.push([
        'Content-Length',
        rng.pick([
          String(body.length + 5),
          String(Math.max(0, body.length - 3)),
          '-1',
          'abc',
          '99999999999999999999',
          `${body.length}, ${body.length}`,
        ]),
      ]);
  }
  if (rng.chance(0.1))
    headers.push([
      'Origin',
      rng.pick(['http://evil.example', `http://127.0.0.1:${context.port}`, 'null', 'http://localhost:3000', '::']),
    ]);
  if (rng.chance(0.05)) headers.push(['Expect', '100-continue']);
  if (rng.chance(0.05))
    headers.push([randomString(rng).replace(/[^\x21-\x7e]/g, 'x') || 'X', randomString(rng).replace(/[\r\n]/g, ' ')]);
  if (rng.chance(0.01)) headers.push(['X-Big', 'x'.repeat(rng.pick([8 * 1024, 20 * 1024, 100 * 1024]))]);
  headers.push(['Connection', rng.chance(0.9) ? 'close' : 'keep-alive']);
  return headers;
}

function chunked(body: Buffer): Buffer {
  return body.length === 0
    ? Buffer.from('0\r\n\r\n')
    : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
}

/** Request bodies over this are refused before they are parsed (src/daemon/http/server.ts). */
const HTTP_BODY_LIMIT = 16 * 1024;

function bodyFor(rng: Rng, seed: Json | undefined, context: FuzzContext): Buffer {
  if (rng.chance(0.01)) return Buffer.alloc(HTTP_BODY_LIMIT + 1, 0x20);
  if (seed === undefined)
    return rng.chance(0.8) ? Buffer.alloc(0) : mutateFrame(rng, {}, dictionary(context), HTTP_BODY_LIMIT);
  return mutateFrame(rng, seed, dictionary(context), HTTP_BODY_LIMIT);
}

function pushRequest(rng: Rng, context: FuzzContext): HttpRequest {
  const body = bodyFor(rng, rng.pick(pushSeeds()), context);
  // Mostly the right token, so bodies get past it to the schema and the store.
  const token = rng.chance(0.75)
    ? context.pushToken
    : rng.pick([
        context.dashboardToken,
        `${context.pushToken.slice(0, -1)}A`,
        'x'.repeat(16),
        'short',
        randomString(rng).replace(/\s/g, '') || 'x',
      ]);
  const path = rng.chance(0.8)
    ? `/v1/apps/${PUSH_APP.appId}/push`
    : mutatePath(
        rng,
        `/v1/apps/${rng.pick([PUSH_APP.appId, FUZZ_APP.appId, UNKNOWN_APP, 'constructor', 'toString', '__proto__', 'com.test.pushsink%00', 'com.test.pushsink/..'])}/push`,
      );
  return finishRequest(
    rng,
    context,
    { method: rng.chance(0.9) ? 'POST' : rng.pick(METHODS), path: defusePath(path), headers: [], body },
    rng.chance(0.95) ? token : null,
  );
}

function dashboardRequest(rng: Rng, context: FuzzContext): HttpRequest {
  const seed = rng.pick(dashboardSeeds(context));
  const body = bodyFor(rng, seed.body, context);
  const path = defusePath(rng.chance(0.6) ? seed.path : mutatePath(rng, seed.path));
  const token = rng.chance(0.85)
    ? context.dashboardToken
    : rng.pick([context.pushToken, 'not-the-token', '', `${context.dashboardToken}x`]);
  return finishRequest(
    rng,
    context,
    { method: rng.chance(0.85) ? seed.method : rng.pick(METHODS), path, headers: [], body },
    rng.chance(0.95) ? token : null,
  );
}

function finishRequest(rng: Rng, context: FuzzContext, request: HttpRequest, token: string | null): HttpRequest {
  request.headers = httpHeaders(rng, context, token, request.body);
  if (request.headers.some(([name, value]) => name === 'Transfer-Encoding' && value === 'chunked'))
    request.body = chunked(request.body);
  return request;
}

async function httpCase(rng: Rng, context: FuzzContext, surface: 'http-push' | 'http-dashboard'): Promise<CaseOutcome> {
  const outcome = newOutcome();
  const request = surface === 'http-push' ? pushRequest(rng, context) : dashboardRequest(rng, context);
  const answer = await rawHttp(context.port, httpBytes(rng, request));
  if (answer === 'hang')
    return { ...outcome, hang: true, problems: [`no answer to ${request.method} ${request.path.slice(0, 100)}`] };
  // refused by node's parser before any handler (a reset, or an unfinished request)
  if (answer.status === null) return outcome;
  const ours = answer.headers['x-frame-options'] === 'DENY';
  if (answer.status < 400) outcome.accepted += 1;
  else outcome.errors += 1;
  if (!ours || answer.status < 400) return outcome;
  if (answer.status >= 500 && answer.status !== 503) {
    outcome.internal += 1;
    outcome.problems.push(
      `HTTP ${answer.status} for ${request.method} ${request.path.slice(0, 100)}: ` + `${answer.body.slice(0, 300)}`,
    );
  }
  // A HEAD answer has the headers of the JSON error but, rightly, no body.
  if ((answer.headers['content-type'] ?? '').startsWith('application/json') && request.method !== 'HEAD') {
    let code: unknown;
    try {
      code = (JSON.parse(answer.body) as { error?: { code?: unknown } }).error?.code;
    } catch {
      code = undefined;
    }
    if (typeof code !== 'string' || code === '') {
      outcome.withoutCode += 1;
      outcome.problems.push(`HTTP ${answer.status} without an error code: ${answer.body.slice(0, 300)}`);
    }
  }
  return outcome;
}

// ---------------------------------------------------------------------------------------------------
// Health: the daemon runs, answers, and its store is whole
// ---------------------------------------------------------------------------------------------------

const LEGIT_COLUMNS =
  'request_id, app_id, identifier, kind, earliest_begin_at, ' +
  'requires_network_connectivity, requires_external_power, submitted_at, ' +
  'recurrence, retry, attempt, continued';

/** Columns that hold JSON text: each must still parse. */
const JSON_COLUMNS: readonly [string, string][] = [
  ['apps', 'launch'],
  ['apps', 'permitted_identifiers'],
  ['apps', 'background_modes'],
  ['requests', 'recurrence'],
  ['requests', 'retry'],
  ['requests', 'continued'],
  ['runs', 'recurrence'],
  ['runs', 'retry'],
  ['runs', 'continued'],
  ['events', 'detail'],
  ['settings', 'value'],
  ['pushes', 'data'],
  ['notifications', 'actions'],
];

export function legitRow(storeFile: string): Record<string, unknown> | undefined {
  const db = new Database(storeFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(`SELECT ${LEGIT_COLUMNS} FROM requests WHERE app_id = ? AND identifier = ?`)
      .get(LEGIT_APP.appId, LEGIT_APP.identifier) as Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}

/** Problems with the store: integrity, JSON columns, the legitimate request, rows of apps that should have none. */
export function storeProblems(context: Pick<FuzzContext, 'storeFile' | 'legitRow'>): string[] {
  const problems: string[] = [];
  const db = new Database(context.storeFile, { readonly: true, fileMustExist: true });
  try {
    const integrity = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
      .map((row) => row.integrity_check)
      .join('; ');
    if (integrity !== 'ok') problems.push(`integrity_check: ${integrity}`);
    for (const [table, column] of JSON_COLUMNS) {
      const bad = (
        db
          .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} IS NOT NULL AND ` + `json_valid(${column}) = 0`)
          .get() as { n: number }
      ).n;
      if (bad > 0) problems.push(`${bad} row(s) of ${table}.${column} are not JSON`);
    }
    const apps = (db.prepare('SELECT app_id FROM apps ORDER BY app_id').all() as { app_id: string }[]).map(
      (row) => row.app_id,
    );
    if (JSON.stringify(apps) !== JSON.stringify([...INSTALLED].sort()))
      problems.push(`the installed apps changed: ${apps.join(', ')}`);
    const stray = (table: string, allowed: readonly string[]): void => {
      const ids = (db.prepare(`SELECT DISTINCT app_id FROM ${table}`).all() as { app_id: string | null }[])
        .map((row) => row.app_id)
        .filter((id) => id !== null && !allowed.includes(id));
      if (ids.length > 0) problems.push(`${table} has rows for ${ids.join(', ')}`);
    };
    stray('requests', INSTALLED);
    stray('runs', [FUZZ_APP.appId]);
    stray('pushes', [PUSH_APP.appId]);
    stray('notifications', [FUZZ_APP.appId]);
    stray('events', INSTALLED);
    const legit = db.prepare(`SELECT ${LEGIT_COLUMNS} FROM requests WHERE app_id = ?`).all(LEGIT_APP.appId);
    if (JSON.stringify(legit) !== JSON.stringify([context.legitRow]))
      problems.push(`the legitimate request changed: ${JSON.stringify(legit)}`);
  } finally {
    db.close();
  }
  return problems;
}

async function withGuard<T>(what: string, promise: Promise<T>): Promise<T> {
  let guard: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) => (guard = setTimeout(() => reject(new Error(`${what}: no answer`)), CASE_GUARD_MS)),
      ),
    ]);
  } finally {
    clearTimeout(guard);
  }
}

/**
 * The daemon runs, answers `status` and a valid app's `pending`, still has the legitimate task, and its store is whole.
 */
export async function healthProblems(context: FuzzContext, target: FuzzTarget): Promise<string[]> {
  if (!target.alive()) return ['the daemon is not running'];
  const problems: string[] = [];
  try {
    const client = await withGuard('control hello', ControlClient.connect(context.socketPath));
    try {
      const status = await withGuard('status', client.request<{ version?: unknown }>('status'));
      if (typeof status.version !== 'string') problems.push(`status answered ${JSON.stringify(status).slice(0, 200)}`);
      const pending = await withGuard(
        'pending',
        client.request<{ identifier: string }[]>('pending', { appId: LEGIT_APP.appId }),
      );
      if (pending.length !== 1 || pending[0]?.identifier !== LEGIT_APP.identifier)
        problems.push(`the legitimate task is not pending: ` + `${JSON.stringify(pending).slice(0, 300)}`);
    } finally {
      client.close();
    }
  } catch (error) {
    problems.push(`control: ${(error as Error).message}`);
  }
  const session = new Session(context, () => appHelloSeed(context));
  try {
    const wire = await session.open();
    await wire.write([Buffer.from(encodeFrame({ t: 'pending', id: 1 }))]);
    await wire.until(() => wire.reply(1) !== undefined);
    if (wire.reply(1)?.ok !== true)
      problems.push(`a valid app request was not answered: ` + `${JSON.stringify(wire.frames).slice(0, 300)}`);
  } catch (error) {
    problems.push(`app: ${(error as Error).message}`);
  } finally {
    session.close();
  }
  problems.push(...storeProblems(context));
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Setup and the run
// ---------------------------------------------------------------------------------------------------

/**
 * Installs the three apps on a running daemon, switches the push app off, submits the legitimate task
 * (over its own app session, as an app would), and gathers the secrets the cases use.
 */
export async function prepareFuzz(home: string, seed: number): Promise<FuzzContext> {
  const paths = homePaths(home);
  const client = await ControlClient.connect(paths.socket);
  let pushToken: string;
  try {
    for (const app of [FUZZ_APP, LEGIT_APP, PUSH_APP]) await client.request('install', { dir: app.dir });
    await client.request('disable', { appId: PUSH_APP.appId });
    pushToken = (await client.request<{ token: string }>('apps.token', { appId: PUSH_APP.appId })).token;
  } finally {
    client.close();
  }
  const dashboard = readDashboardFile(home);
  if (!dashboard) throw new Error('the daemon serves no dashboard: the HTTP surfaces need it');
  const credential = (app: string): string => readFileSync(paths.credentialFile(app), 'utf8').trim();
  await submitLegit(paths.socket, credential(LEGIT_APP.appId));
  const storeFile = paths.storeFile;
  const row = legitRow(storeFile);
  if (!row) throw new Error('the legitimate request is not in the store');
  return {
    seed,
    socketPath: paths.socket,
    port: dashboard.port,
    storeFile,
    maxFrameBytes: compileDaemonOptions({ home }).maxFrameBytes,
    credential: credential(FUZZ_APP.appId),
    dashboardToken: dashboard.token,
    pushToken,
    legitRow: row,
    taskIds: [],
  };
}

async function submitLegit(socketPath: string, credential: string): Promise<void> {
  const wire = await Wire.connect(socketPath);
  try {
    await wire.write([
      Buffer.from(
        encodeFrame({
          t: 'hello',
          v: PROTOCOL_VERSION,
          role: 'app',
          appId: LEGIT_APP.appId,
          credential,
          pid: process.pid,
          launchId: null,
          registered: [LEGIT_APP.identifier],
        }),
      ),
    ]);
    // A year ahead: it stays pending through any run.
    const requests = [
      {
        identifier: LEGIT_APP.identifier,
        kind: 'refresh',
        earliestBeginAt: Date.now() + 365 * 24 * 3_600_000,
        requiresNetworkConnectivity: false,
        requiresExternalPower: false,
      },
    ];
    await wire.write([Buffer.from(encodeFrame({ t: 'submit', id: 1, requests }))]);
    await wire.until(() => wire.reply(1) !== undefined);
    const results = (wire.reply(1)?.data as { results?: { ok: boolean }[] } | undefined)?.results;
    if (results?.[0]?.ok !== true) throw new Error(`the legitimate submission failed: ${JSON.stringify(wire.frames)}`);
  } finally {
    wire.destroy();
  }
}

/** Runs one case of a surface; the sessions persist across cases of their surface. */
type CaseRunner = (rng: Rng, index: number) => Promise<CaseOutcome>;

function caseRunner(surface: SurfaceName, context: FuzzContext): { run: CaseRunner; close(): void } {
  switch (surface) {
    case 'ipc-hello':
      return { run: (rng, index) => helloCase(rng, context, index), close: () => undefined };
    case 'ipc-app': {
      const session = new Session(context, () => appHelloSeed(context));
      return {
        run: (rng, index) =>
          sessionCase(
            session,
            sessionBytes(rng, index, appFrameSeeds(context), context),
            { t: 'pending', id: BARRIER_BASE + index },
            appMessageSchema,
            rng,
          ),
        close: () => session.close(),
      };
    }
    case 'ipc-control': {
      const session = new Session(context, () => CONTROL_HELLO);
      return {
        run: (rng, index) =>
          sessionCase(
            session,
            sessionBytes(rng, index, controlFrameSeeds(context), context, defuseControl),
            { t: 'control', id: BARRIER_BASE + index, command: 'status', args: {} },
            controlSchema,
            rng,
          ),
        close: () => session.close(),
      };
    }
    case 'http-push':
    case 'http-dashboard':
      return { run: (rng) => httpCase(rng, context, surface), close: () => undefined };
    default: {
      const unreachable: never = surface;
      throw new Error(`unknown surface ${String(unreachable)}`);
    }
  }
}

/**
 * Fuzzes one surface for `options.cases` cases, `options.concurrency` at a time (each worker with its own
 * connection: the daemon and the fuzzer then use both cores); the report counts everything, `failures`
 * says what and how to replay.
 */
export async function fuzzSurface(
  surface: SurfaceName,
  context: FuzzContext,
  target: FuzzTarget,
  options: SurfaceOptions,
): Promise<SurfaceReport> {
  const report: SurfaceReport = {
    surface,
    cases: 0,
    crashes: 0,
    hangs: 0,
    errorsAnswered: 0,
    accepted: 0,
    internalErrors: 0,
    errorsWithoutCode: 0,
    mismatches: 0,
    healthChecks: 0,
    healthProblems: 0,
    failures: [],
    durationMs: 0,
    p99CaseMs: 0,
    maxCaseMs: 0,
  };
  const started = Date.now();
  const surfaceRng = new Rng(context.seed).derive(surface);
  const durations: number[] = [];
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    const runner = caseRunner(surface, context);
    try {
      while (!stopped && next < options.cases) {
        const index = next++;
        const caseStarted = performance.now();
        const outcome = await runCase(runner.run, surfaceRng.derive(index), index);
        durations.push(performance.now() - caseStarted);
        stopped ||=
          !tally(report, outcome, index, context, target) || (options.stopOnFailure && report.failures.length > 0);
        if (!stopped && (index + 1) % options.healthEvery === 0)
          stopped = !(await checkHealth(context, target, report, index + 1));
      }
    } finally {
      runner.close();
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    if (target.alive()) await checkHealth(context, target, report, report.cases);
  } finally {
    report.durationMs = Date.now() - started;
    durations.sort((a, b) => a - b);
    report.p99CaseMs = durations[Math.floor(durations.length * 0.99)] ?? 0;
    report.maxCaseMs = durations.at(-1) ?? 0;
  }
  return report;
}

/** Adds a case's outcome to the report; false when the daemon died (the surface stops there). */
function tally(
  report: SurfaceReport,
  outcome: CaseOutcome,
  index: number,
  context: FuzzContext,
  target: FuzzTarget,
): boolean {
  report.cases += 1;
  report.errorsAnswered += outcome.errors;
  report.accepted += outcome.accepted;
  report.internalErrors += outcome.internal;
  report.errorsWithoutCode += outcome.withoutCode;
  report.mismatches += outcome.mismatch;
  if (outcome.hang) report.hangs += 1;
  const fail = (problem: string): void => {
    if (report.failures.length < 20)
      report.failures.push(`${report.surface} case ${index} (BGTASKS_FUZZ_SEED=${context.seed}): ` + `${problem}`);
  };
  outcome.problems.forEach(fail);
  if (target.alive()) return true;
  if (report.crashes === 0) fail('the daemon died');
  report.crashes = 1;
  return false;
}

async function runCase(run: CaseRunner, rng: Rng, index: number): Promise<CaseOutcome> {
  try {
    return await run(rng, index);
  } catch (error) {
    return { ...newOutcome(), problems: [`the case could not run: ${(error as Error).message}`] };
  }
}

async function checkHealth(
  context: FuzzContext,
  target: FuzzTarget,
  report: SurfaceReport,
  index: number,
): Promise<boolean> {
  report.healthChecks += 1;
  const problems = await healthProblems(context, target);
  report.healthProblems += problems.length;
  for (const problem of problems)
    if (report.failures.length < 20)
      report.failures.push(
        `${report.surface} health after ${index} cases ` + `(BGTASKS_FUZZ_SEED=${context.seed}): ${problem}`,
      );
  return problems.length === 0;
}

/**
 * Whether a line of the daemon's log is an error (pino level 50 and up). A refused app request with a
 * code (a notification posted before the person allowed them) is logged as a warning; only the daemon's
 * own failures are errors.
 */
function isErrorLine(line: string): boolean {
  return /"level":(5\d|6\d)/.test(line);
}

/**
 * The error lines of a daemon's output, read as it comes; nothing else is kept (a fuzz run makes the
 * daemon log a warning for every connection it closes: tens of thousands of lines).
 */
export class ErrorLog {
  readonly lines: string[] = [];
  #partial = '';

  /** Reads `stream` from now on, instead of whoever read it before. */
  take(stream: NodeJS.ReadableStream): void {
    stream.removeAllListeners('data');
    stream.on('data', (chunk: Buffer) => this.feed(chunk.toString('utf8')));
  }

  feed(text: string): void {
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) if (isErrorLine(line)) this.lines.push(line);
  }
}
