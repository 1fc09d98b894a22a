import {
  formatValue,
  LABEL_NAME,
  METRIC_NAME,
  renderExposition,
  type FamilySnapshot,
  type Sample,
} from './exposition.js';

/** A series' labels: exactly the family's label names, each with a string value. */
export type Labels<N extends string> = Readonly<Record<N, string>>;

interface FamilySpec<N extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly N[];
}

/**
 * The series of one family past this are not kept: a label that took unbounded values is a bug, not a reason to eat
 * memory.
 */
export const MAX_SERIES_PER_FAMILY = 2_000;

interface Family {
  readonly name: string;
  snapshot(): FamilySnapshot;
}

/**
 * The metrics of one daemon (no global registry: two daemons in one process, as in the tests, keep
 * theirs apart). Counters and histograms keep their values; `collected` families are read from the
 * daemon's state at each scrape, so a series whose subject went away (an uninstalled app) goes too.
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #dropped: Counter<'metric'>;
  readonly #onCollectError: (name: string, error: unknown) => void;

  /** `onCollectError`: a collected family that throws is left out of that scrape, and reported here. */
  constructor(options: { readonly onCollectError?: (name: string, error: unknown) => void } = {}) {
    this.#onCollectError = options.onCollectError ?? (() => undefined);
    this.#dropped = this.counter({
      name: 'bgtasks_metrics_series_dropped_total',
      help: `Increments not recorded because their metric already had ${MAX_SERIES_PER_FAMILY} series.`,
      labelNames: ['metric'],
    });
  }

  counter<N extends string = never>(spec: FamilySpec<N>): Counter<N> {
    return this.#add(new Counter(checkSpec(spec), (name) => this.#dropped.inc({ metric: name })));
  }

  histogram<N extends string = never>(spec: FamilySpec<N> & { readonly buckets: readonly number[] }): Histogram<N> {
    return this.#add(new Histogram(checkSpec(spec), spec.buckets, (name) => this.#dropped.inc({ metric: name })));
  }

  /** A family read at scrape time: `collect` calls `emit` once per series. */
  collected<N extends string = never>(
    spec: FamilySpec<N> & {
      readonly type: 'gauge' | 'counter';
      readonly collect: (emit: (labels: Labels<N>, value: number) => void) => void;
    },
  ): void {
    const { name, help, labelNames } = checkSpec(spec);
    this.#add({
      name,
      snapshot: () => {
        const samples: Sample[] = [];
        spec.collect((labels, value) => samples.push({ name, labels: labelPairs(name, labelNames, labels), value }));
        return { name, help, type: spec.type, samples };
      },
    });
  }

  /** Every family in the text format; a collected family that fails is left out (and reported). */
  render(): string {
    const snapshots: FamilySnapshot[] = [];
    for (const family of this.#families.values()) {
      try {
        snapshots.push(family.snapshot());
      } catch (error) {
        this.#onCollectError(family.name, error);
      }
    }
    return renderExposition(snapshots);
  }

  #add<F extends Family>(family: F): F {
    if (this.#families.has(family.name)) throw new TypeError(`The metric ${family.name} is registered twice`);
    this.#families.set(family.name, family);
    return family;
  }
}

function checkSpec<N extends string>(spec: FamilySpec<N>): { name: string; help: string; labelNames: readonly N[] } {
  if (!METRIC_NAME.test(spec.name)) throw new TypeError(`Invalid metric name \`${spec.name}\``);
  const labelNames = spec.labelNames ?? [];
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label) || label === 'le')
      throw new TypeError(`Invalid label name \`${label}\` for ${spec.name}`);
  }
  if (new Set(labelNames).size !== labelNames.length) throw new TypeError(`A label of ${spec.name} is named twice`);
  return { name: spec.name, help: spec.help, labelNames };
}

/** The labels in the family's order; a missing or extra label is a programming error. */
function labelPairs<N extends string>(metric: string, names: readonly N[], labels: Labels<N>): [string, string][] {
  const given = Object.keys(labels);
  if (given.length !== names.length || names.some((name) => typeof labels[name] !== 'string')) {
    throw new TypeError(
      `${metric} takes the labels ${names.join(', ') || '(none)'}, got ` + `${given.join(', ') || '(none)'}`,
    );
  }
  return names.map((name) => [name, labels[name]]);
}

/** Series by their label values (joined with NUL, which no label value here holds). */
class SeriesMap<N extends string, V> {
  readonly #series = new Map<string, { readonly labels: [string, string][]; value: V }>();

  constructor(
    private readonly metric: string,
    private readonly names: readonly N[],
    private readonly onDropped: (metric: string) => void,
  ) {}

  /** The series for these labels, made with `initial` when new; undefined past the series limit. */
  get(labels: Labels<N>, initial: () => V): { value: V } | undefined {
    const pairs = labelPairs(this.metric, this.names, labels);
    const key = pairs.map(([, value]) => value).join('\u0000');
    let series = this.#series.get(key);
    if (!series) {
      if (this.#series.size >= MAX_SERIES_PER_FAMILY) {
        this.onDropped(this.metric);
        return undefined;
      }
      series = { labels: pairs, value: initial() };
      this.#series.set(key, series);
    }
    return series;
  }

  *entries(): IterableIterator<{ readonly labels: [string, string][]; readonly value: V }> {
    yield* this.#series.values();
  }
}

/** A count that only goes up (resets only when the daemon restarts, which Prometheus's `rate` understands). */
export class Counter<N extends string = never> implements Family {
  readonly name: string;
  readonly #help: string;
  readonly #series: SeriesMap<N, number>;

  constructor(spec: { name: string; help: string; labelNames: readonly N[] }, onDropped: (metric: string) => void) {
    this.name = spec.name;
    this.#help = spec.help;
    this.#series = new SeriesMap(spec.name, spec.labelNames, onDropped);
    // A counter without labels exists from the start, at 0, so `rate` sees its first increment.
    if (spec.labelNames.length === 0) this.#series.get({} as Labels<N>, () => 0);
  }

  inc(labels: Labels<N>, by = 1): void {
    if (!Number.isFinite(by) || by < 0)
      throw new RangeError(`${this.name} goes up by a finite amount >= 0, not ${formatValue(by)}`);
    const series = this.#series.get(labels, () => 0);
    if (series) series.value += by;
  }

  /** The value of one series (0 when it has none yet); for tests and the daemon's own checks. */
  get(labels: Labels<N>): number {
    for (const series of this.#series.entries())
      if (series.labels.every(([name, value]) => labels[name as N] === value)) return series.value;
    return 0;
  }

  snapshot(): FamilySnapshot {
    const samples = [...this.#series.entries()].map(({ labels, value }) => ({ name: this.name, labels, value }));
    return { name: this.name, help: this.#help, type: 'counter', samples };
  }
}

interface HistogramValue {
  /** Per bucket, the observations at or below its bound (not yet cumulative). */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into buckets by upper bound; written cumulatively, with `+Inf`, `_sum` and `_count`. */
export class Histogram<N extends string = never> implements Family {
  readonly name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #series: SeriesMap<N, HistogramValue>;

  constructor(
    spec: { name: string; help: string; labelNames: readonly N[] },
    buckets: readonly number[],
    onDropped: (metric: string) => void,
  ) {
    if (
      buckets.length === 0 ||
      buckets.some((bound, index) => !Number.isFinite(bound) || (index > 0 && bound <= buckets[index - 1]!))
    ) {
      throw new TypeError(`The buckets of ${spec.name} must be finite and strictly increasing (+Inf is added)`);
    }
    this.name = spec.name;
    this.#help = spec.help;
    this.#bounds = [...buckets];
    this.#series = new SeriesMap(spec.name, spec.labelNames, onDropped);
    if (spec.labelNames.length === 0) this.#series.get({} as Labels<N>, () => this.#empty());
  }

  observe(labels: Labels<N>, value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`${this.name} observes finite values, not ${formatValue(value)}`);
    const series = this.#series.get(labels, () => this.#empty());
    if (!series) return;
    const bucket = this.#bounds.findIndex((bound) => value <= bound);
    if (bucket >= 0) series.value.counts[bucket]! += 1;
    series.value.sum += value;
    series.value.count += 1;
  }

  /** Count and sum of one series; for tests. */
  get(labels: Labels<N>): { readonly count: number; readonly sum: number } {
    for (const series of this.#series.entries()) {
      if (series.labels.every(([name, value]) => labels[name as N] === value))
        return { count: series.value.count, sum: series.value.sum };
    }
    return { count: 0, sum: 0 };
  }

  snapshot(): FamilySnapshot {
    const samples: Sample[] = [];
    for (const { labels, value } of this.#series.entries()) {
      let cumulative = 0;
      for (const [index, bound] of this.#bounds.entries()) {
        cumulative += value.counts[index]!;
        samples.push({
          name: `${this.name}_bucket`,
          labels: [...labels, ['le', formatValue(bound)]],
          value: cumulative,
        });
      }
      samples.push({ name: `${this.name}_bucket`, labels: [...labels, ['le', '+Inf']], value: value.count });
      samples.push({ name: `${this.name}_sum`, labels, value: value.sum });
      samples.push({ name: `${this.name}_count`, labels, value: value.count });
    }
    return { name: this.name, help: this.#help, type: 'histogram', samples };
  }

  #empty(): HistogramValue {
    return { counts: this.#bounds.map(() => 0), sum: 0, count: 0 };
  }
}
