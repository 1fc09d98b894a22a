import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { escapeHelp, escapeLabelValue, formatValue, renderExposition } from '../../src/daemon/metrics/exposition.js';
import { MAX_SERIES_PER_FAMILY, MetricsRegistry } from '../../src/daemon/metrics/registry.js';
import { parseExposition, sampleValue } from './metricsFormat.js';

/** The Python client's parser, where the machine has it (Debian: python3-prometheus-client); null where not. */
function pythonParse(text: string): { name: string; labels: Record<string, string>; value: number }[] | null {
  const script = [
    'import sys, json',
    'from prometheus_client.parser import text_string_to_metric_families',
    'out = [{"name": s.name, "labels": s.labels, "value": s.value} for f in ' +
      'text_string_to_metric_families(sys.stdin.read()) for s in f.samples]',
    'print(json.dumps(out, allow_nan=True))',
  ].join('\n');
  for (const python of ['/usr/bin/python3', 'python3']) {
    const result = spawnSync(python, ['-c', script], { input: text, encoding: 'utf8' });
    if (result.status === 0)
      return JSON.parse(result.stdout.replace(/\bInfinity\b/g, '1e999').replace(/\bNaN\b/g, 'null')) as never;
    if (result.stderr.includes('No module named') || result.error) continue;
    throw new Error(`prometheus_client refused the text: ${result.stderr}`);
  }
  return null;
}
const HAS_PYTHON_CLIENT = pythonParse('') !== null;

function sampleRegistry(): MetricsRegistry {
  const registry = new MetricsRegistry();
  const counter = registry.counter({
    name: 'demo_events_total',
    help: 'Events with a "quote", a back\\slash\nand a new line.',
    labelNames: ['app', 'outcome'],
  });
  counter.inc({ app: 'com.example.a', outcome: 'success' });
  counter.inc({ app: 'odd "app" \\ name\nline two', outcome: 'failure' }, 2);
  const histogram = registry.histogram({
    name: 'demo_latency_seconds',
    help: 'Latency.',
    labelNames: ['kind'],
    buckets: [0.1, 1, 10],
  });
  for (const value of [0.05, 0.1, 0.5, 5, 50]) histogram.observe({ kind: 'refresh' }, value);
  registry.histogram({ name: 'demo_unlabelled_seconds', help: 'Nothing observed yet.', buckets: [1] });
  registry.collected({
    name: 'demo_depth',
    help: 'A gauge read at scrape time.',
    type: 'gauge',
    labelNames: ['app'],
    collect: (emit) => emit({ app: 'com.example.a' }, 3),
  });
  registry.collected({
    name: 'demo_ratio',
    help: 'Odd values.',
    type: 'gauge',
    labelNames: ['case'],
    collect: (emit) => {
      emit({ case: 'inf' }, Number.POSITIVE_INFINITY);
      emit({ case: 'nan' }, Number.NaN);
      emit({ case: 'small' }, 1e-7);
    },
  });
  return registry;
}

describe('exposition', () => {
  it('escapes backslash, double quote and line feed in label values, and backslash and line feed in HELP', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(escapeHelp('a"b\\c\nd'), 'a"b\\\\c\\nd');
    assert.equal(formatValue(Number.POSITIVE_INFINITY), '+Inf');
    assert.equal(formatValue(Number.NEGATIVE_INFINITY), '-Inf');
    assert.equal(formatValue(Number.NaN), 'NaN');
    assert.equal(formatValue(0.25), '0.25');
  });

  it("writes HELP and TYPE before each family's samples and ends with a line feed", () => {
    const text = renderExposition([
      { name: 'x_total', help: 'X.', type: 'counter', samples: [{ name: 'x_total', labels: [['a', 'b']], value: 2 }] },
    ]);
    assert.equal(text, '# HELP x_total X.\n# TYPE x_total counter\nx_total{a="b"} 2\n');
    assert.equal(renderExposition([]), '');
  });
});

describe('MetricsRegistry', () => {
  it('renders text that a strict reader of format 0.0.4 takes, with escaped label values read back unchanged', () => {
    const families = parseExposition(sampleRegistry().render());
    assert.equal(
      sampleValue(families, 'demo_events_total', { app: 'odd "app" \\ name\nline two', outcome: 'failure' }),
      2,
    );
    assert.equal(families.get('demo_events_total')?.help, 'Events with a "quote", a back\\slash\nand a new line.');
    assert.equal(sampleValue(families, 'demo_depth', { app: 'com.example.a' }), 3);
    assert.equal(sampleValue(families, 'demo_ratio', { case: 'inf' }), Number.POSITIVE_INFINITY);
    assert.ok(Number.isNaN(sampleValue(families, 'demo_ratio', { case: 'nan' })));
    assert.equal(sampleValue(families, 'demo_ratio', { case: 'small' }), 1e-7);
  });

  it('the strict reader refuses what Prometheus would refuse', () => {
    assert.throws(() => parseExposition('x 1'), /line feed/);
    assert.throws(() => parseExposition('x{a="b\\t"} 1\n'), /bad escape/);
    assert.throws(() => parseExposition('# TYPE x counter\nx -1\n'), /below 0/);
    assert.throws(() => parseExposition('x 1\ny 1\nx{a="b"} 1\n'), /split in two/);
    assert.throws(() => parseExposition('x{a="b"} 1\nx{a="b"} 2\n'), /twice/);
    assert.throws(
      () => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum ' + '1\nh_count 1\n'),
      /cumulative/,
    );
    assert.throws(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'), /\+Inf/);
  });

  it('writes histogram buckets cumulatively, with +Inf equal to the count and the sum of the values', () => {
    const families = parseExposition(sampleRegistry().render());
    const bucket = (le: string) => sampleValue(families, 'demo_latency_seconds_bucket', { kind: 'refresh', le });
    // 0.05 and 0.1 are <= 0.1 (le is inclusive); 0.5 <= 1; 5 <= 10; 50 only in +Inf.
    assert.deepEqual(['0.1', '1', '10', '+Inf'].map(bucket), [2, 3, 4, 5]);
    assert.equal(sampleValue(families, 'demo_latency_seconds_count', { kind: 'refresh' }), 5);
    assert.equal(sampleValue(families, 'demo_latency_seconds_sum', { kind: 'refresh' }), 55.65);
    assert.equal(
      sampleValue(families, 'demo_unlabelled_seconds_count'),
      0,
      'a histogram without labels exists from the start',
    );
  });

  it('keeps counters monotonic: a negative or non-finite increment is refused and changes nothing', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: 'demo_total', help: 'Demo.' });
    counter.inc({}, 3);
    assert.throws(() => counter.inc({}, -1), RangeError);
    assert.throws(() => counter.inc({}, Number.NaN), RangeError);
    assert.throws(() => counter.inc({}, Number.POSITIVE_INFINITY), RangeError);
    assert.equal(counter.get({}), 3);
    assert.throws(
      () => registry.histogram({ name: 'demo_h', help: 'H.', buckets: [1] }).observe({}, Number.NaN),
      RangeError,
    );
  });

  it('refuses bad names, labels that do not match the family, a name registered twice, and unsorted buckets', () => {
    const registry = new MetricsRegistry();
    assert.throws(() => registry.counter({ name: 'bad-name', help: 'x' }), /metric name/);
    assert.throws(() => registry.counter({ name: 'x_total', help: 'x', labelNames: ['__reserved'] }), /label name/);
    assert.throws(() => registry.histogram({ name: 'h', help: 'x', labelNames: ['le'], buckets: [1] }), /label name/);
    assert.throws(() => registry.histogram({ name: 'h2', help: 'x', buckets: [1, 1] }), /increasing/);
    const counter = registry.counter({ name: 'y_total', help: 'y', labelNames: ['app'] });
    assert.throws(() => counter.inc({ app: 'a', other: 'b' } as never), /takes the labels app/);
    assert.throws(() => counter.inc({} as never), /takes the labels app/);
    assert.throws(() => registry.counter({ name: 'y_total', help: 'again' }), /twice/);
  });

  it('stops making series past the limit of a family and counts what it dropped', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter({ name: 'wide_total', help: 'Too many series.', labelNames: ['id'] });
    for (let index = 0; index < MAX_SERIES_PER_FAMILY + 5; index++) counter.inc({ id: String(index) });
    const families = parseExposition(registry.render());
    assert.equal(families.get('wide_total')?.samples.length, MAX_SERIES_PER_FAMILY);
    assert.equal(sampleValue(families, 'bgtasks_metrics_series_dropped_total', { metric: 'wide_total' }), 5);
  });

  it('leaves a collected family that throws out of the scrape, reports it, and keeps the rest', () => {
    const failures: string[] = [];
    const registry = new MetricsRegistry({ onCollectError: (name) => failures.push(name) });
    registry.collected({
      name: 'broken',
      help: 'Throws.',
      type: 'gauge',
      collect: () => {
        throw new Error('no state');
      },
    });
    registry.collected({ name: 'fine', help: 'Works.', type: 'gauge', collect: (emit) => emit({}, 1) });
    const families = parseExposition(registry.render());
    assert.equal(families.has('broken'), false);
    assert.equal(sampleValue(families, 'fine'), 1);
    assert.deepEqual(failures, ['broken']);
  });

  it('drops a collected series at the scrape after its subject goes', () => {
    const registry = new MetricsRegistry();
    let apps = ['a', 'b'];
    registry.collected({
      name: 'per_app',
      help: 'Per app.',
      type: 'gauge',
      labelNames: ['app'],
      collect: (emit) => apps.forEach((app) => emit({ app }, 1)),
    });
    assert.equal(parseExposition(registry.render()).get('per_app')?.samples.length, 2);
    apps = ['a'];
    assert.equal(parseExposition(registry.render()).get('per_app')?.samples.length, 1);
  });

  it(
    'is read the same by the Python prometheus_client parser',
    {
      skip:
        !HAS_PYTHON_CLIENT &&
        'the Python prometheus_client is not installed (apt-get install ' + 'python3-prometheus-client)',
    },
    () => {
      const text = sampleRegistry().render();
      const python = pythonParse(text)!;
      const ours = [...parseExposition(text).values()].flatMap((family) => family.samples);
      assert.equal(python.length, ours.length);
      for (const sample of ours) {
        const match = python.find(
          (other) =>
            other.name === sample.name &&
            JSON.stringify(Object.entries(other.labels).sort()) ===
              JSON.stringify(Object.entries(sample.labels).sort()),
        );
        assert.ok(match, `python read ${sample.name} ${JSON.stringify(sample.labels)}`);
        if (Number.isNaN(sample.value)) assert.equal(match.value, null, 'NaN');
        else if (!Number.isFinite(sample.value)) assert.ok(match.value > 1e300);
        else assert.equal(match.value, sample.value);
      }
    },
  );
});
