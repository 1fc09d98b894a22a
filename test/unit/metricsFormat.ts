import assert from 'node:assert/strict';
/**
 * A strict reader of the Prometheus text format 0.0.4, for the metrics tests: it throws, naming the
 * line, on anything a Prometheus server would refuse or misread (bad names, bad escapes, a family split
 * in two, a duplicate series, histogram buckets that are not cumulative or lack `+Inf`), and returns
 * the samples for the tests to look up. Prometheus's own Python parser (`prometheus_client`, which
 * .ci/run installs from Debian) reads the same text in metricsRegistry.test.ts.
 */

export interface ParsedSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ParsedFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string | null;
  readonly samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|inf)$|^NaN$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  if (!FLOAT.test(text)) throw new Error(`${where}: "${text}" is not a float`);
  if (text === 'NaN') return Number.NaN;
  if (/^[+]?Inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-Inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** `{a="x",b="y\"z"}` from `start` (at `{`): the labels and the index after `}`. */
function parseLabels(line: string, start: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let at = start + 1;
  for (;;) {
    if (line[at] === '}') return { labels, end: at + 1 };
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at))?.[0];
    if (!name || !LABEL_NAME.test(name)) throw new Error(`${where}: bad label name at column ${at}`);
    if (name.startsWith('__')) throw new Error(`${where}: label ${name} is reserved`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: label ${name} given twice`);
    at += name.length;
    if (line.slice(at, at + 2) !== '="') throw new Error(`${where}: expected =" after ${name}`);
    at += 2;
    let value = '';
    for (;;) {
      const char = line[at];
      if (char === undefined) throw new Error(`${where}: unterminated value of ${name}`);
      if (char === '"') break;
      if (char === '\\') {
        const next = line[at + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${next ?? ''} in ${name}`);
        at += 2;
        continue;
      }
      value += char;
      at++;
    }
    labels[name] = value;
    at++;
    if (line[at] === ',') at++;
    else if (line[at] !== '}') throw new Error(`${where}: expected , or } after ${name}`);
  }
}

/** The family a sample belongs to: its own name, or a histogram's without `_bucket`, `_sum`, `_count`. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === 'histogram' || types.get(base) === 'summary') return base;
    }
  }
  return name;
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the body does not end with a line feed');
  const families = new Map<string, ParsedFamily>();
  const types = new Map<string, string>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | null = null;
  const enter = (name: string, where: string): ParsedFamily => {
    if (current !== name) {
      if (closed.has(name)) throw new Error(`${where}: the family ${name} is split in two`);
      if (current !== null) closed.add(current);
      current = name;
    }
    let family = families.get(name);
    if (!family) families.set(name, (family = { name, type: types.get(name) ?? 'untyped', help: null, samples: [] }));
    return family;
  };
  const lines = text.split('\n').slice(0, -1);
  for (const [index, line] of lines.entries()) {
    const where = `line ${index + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line.trim() === '') throw new Error(`${where}: an empty line`);
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!match) continue; // a plain comment
      const [, keyword, name, rest] = match as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      const family = enter(name, where);
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        if (types.has(name)) throw new Error(`${where}: a second TYPE for ${name}`);
        if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        types.set(name, rest);
        (family as { type: string }).type = rest;
      } else {
        if (family.help !== null) throw new Error(`${where}: a second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`);
        (family as { help: string | null }).help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      continue;
    }
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`${where}: bad sample name`);
    let at = name.length;
    let labels: Record<string, string> = {};
    if (line[at] === '{') ({ labels, end: at } = parseLabels(line, at, where));
    if (line[at] !== ' ') throw new Error(`${where}: expected a space before the value`);
    const fields = line.slice(at + 1).split(' ');
    if (fields.length > 2 || (fields.length === 2 && !/^-?\d+$/.test(fields[1]!)))
      throw new Error(`${where}: expected a value and at most a timestamp`);
    const value = parseValue(fields[0]!, where);
    const familyName = familyOf(name, types);
    const family = enter(familyName, where);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${where}: the series is given twice`);
    series.add(key);
    if (family.type === 'counter' && (value < 0 || Number.isNaN(value))) throw new Error(`${where}: a counter below 0`);
    if (family.type === 'histogram' && name === familyName)
      throw new Error(`${where}: a histogram sample needs _bucket, _sum or _count`);
    if (name.endsWith('_bucket') && family.type === 'histogram' && labels.le === undefined)
      throw new Error(`${where}: a bucket without le`);
    family.samples.push({ name, labels, value });
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** Per series: buckets in increasing `le`, cumulative, ending at `+Inf` equal to `_count`. */
function checkHistogram(family: ParsedFamily): void {
  const bySeries = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = bySeries.get(key) ?? { buckets: [] };
    bySeries.set(key, entry);
    if (sample.name.endsWith('_bucket')) entry.buckets.push([parseValue(le!, `${family.name} le`), sample.value]);
    else if (sample.name.endsWith('_count')) entry.count = sample.value;
    else entry.sum = sample.value;
  }
  for (const [key, entry] of bySeries) {
    const where = `${family.name}${key}`;
    if (entry.count === undefined || entry.sum === undefined) throw new Error(`${where}: no _count or _sum`);
    const last = entry.buckets.at(-1);
    if (!last || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${where}: the last bucket is not +Inf`);
    if (last[1] !== entry.count)
      throw new Error(`${where}: the +Inf bucket (${last[1]}) is not _count (${entry.count})`);
    for (let index = 1; index < entry.buckets.length; index++) {
      const [bound, count] = entry.buckets[index]!;
      const [previousBound, previousCount] = entry.buckets[index - 1]!;
      if (bound <= previousBound) throw new Error(`${where}: le ${bound} after ${previousBound}`);
      if (count < previousCount) throw new Error(`${where}: the buckets are not cumulative at le ${bound}`);
    }
  }
}

/** The value of the sample with exactly these labels, or undefined. */
export function sampleValue(
  families: ReadonlyMap<string, ParsedFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const keys = Object.keys(sample.labels);
      if (keys.length === Object.keys(labels).length && keys.every((key) => sample.labels[key] === labels[key]))
        return sample.value;
    }
  }
  return undefined;
}

/** A scrape's answer, checked (200, the exposition's content type) and parsed strictly. */
export async function readScrape(response: Response): Promise<Map<string, ParsedFamily>> {
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await response.text());
}
