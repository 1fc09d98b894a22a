/**
 * The benchmark suite: each benchmark prints its table (ours and the peers', measured in this run on this
 * machine) and its targets; everything is written to bench/results/ as JSON. Ratios, not absolute
 * times: the machines are shared and noisy.
 *
 *   npm run build && npm ci --prefix bench && npm run bench [-- --quick] [-- --only throughput,latency]
 *
 * Needs PostgreSQL (127.0.0.1:5432, trust, database `test`) and Redis (127.0.0.1:6379) for the peers.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchOptions, BenchReport } from './support/report.js';
import { table } from './support/report.js';
import { ROOT } from './support/system.js';

const BENCHMARKS: Record<string, () => Promise<{ run(options: BenchOptions): Promise<BenchReport> }>> = {
  throughput: () => import('./throughput.js'),
  latency: () => import('./latency.js'),
  scale: () => import('./scale.js'),
  launch: () => import('./launch.js'),
  timing: () => import('./timing.js'),
  idle: () => import('./idleCost.js'),
  fuzz: () => import('./fuzz.js'),
  soak: () => import('./soak.js'),
};
/** Run only when named in --only: the soak takes an hour (its 20-kill version is a CI test). */
const OPT_IN = new Set(['soak']);

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' } },
});
const names = values.only ? values.only.split(',') : Object.keys(BENCHMARKS).filter((name) => !OPT_IN.has(name));
for (const name of names)
  if (!(name in BENCHMARKS))
    throw new TypeError(`Unknown benchmark "${name}"; the benchmarks are ` + `${Object.keys(BENCHMARKS).join(', ')}`);

const machine = {
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  postgres: tryCommand('psql', [
    '-h',
    '127.0.0.1',
    '-U',
    'postgres',
    '-d',
    'test',
    '-Atc',
    "select version() || ', synchronous_commit=' || " + "current_setting('synchronous_commit')",
  ]),
  redis: tryCommand('redis-cli', ['info', 'server']).match(/redis_version:(\S+)/)?.[1] ?? 'unknown',
};
const options: BenchOptions = { quick: values.quick };
const reports: BenchReport[] = [];
const startedAt = new Date().toISOString();
console.log(
  `bgtasks benchmarks${options.quick ? ' (quick)' : ''}: ${machine.cpus}, ` +
    `${machine.memoryGb} GB, Node ${machine.node}\n`,
);
let missed = 0;
for (const name of names) {
  const started = Date.now();
  const report = await (await BENCHMARKS[name]!()).run(options);
  reports.push(report);
  console.log(
    `## ${report.name} (${((Date.now() - started) / 1000).toFixed(0)} ` +
      `s)\n${report.method}\n\n${table(report.columns, report.rows)}\n`,
  );
  for (const target of report.targets) {
    if (!target.met) missed += 1;
    console.log(`  ${target.met ? 'met   ' : 'MISSED'}  ${target.target}: ${target.measured}`);
  }
  console.log('');
}
const out = values.out ?? join(ROOT, 'bench', 'results', options.quick ? 'quick.json' : 'latest.json');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify({ startedAt, quick: options.quick, machine, reports }, null, 2)}\n`);
console.log(`${missed === 0 ? 'every target met' : `${missed} target(s) missed`}; results in ${out}`);

function tryCommand(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unavailable';
  }
}
