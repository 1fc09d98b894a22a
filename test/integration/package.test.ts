/**
 * The package as a user gets it: `npm pack` (of the dist/ the suite's build made), installed from the
 * tarball into an empty project, then used only through that install: `npx bgtasks`, `import 'bgtasks'`
 * and `'bgtasks/testing'` with their types, and the installed daemon running an example app's task.
 *
 * Nothing here runs from the repository except the tools a user brings themselves (node, npm, tar, and
 * the repository's TypeScript and @types/node standing in for the user's own dev dependencies): PATH
 * and the environment are cleaned of this repository's `node_modules/.bin` and of npm's `npm_*`
 * variables, so the nested npm and npx see only the temporary project.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, until } from '../support/daemonProcess.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** A failure guard for one command; never a timing assertion. `npm install` may compile better-sqlite3. */
const COMMAND_GUARD_MS = 60_000;
const INSTALL_GUARD_MS = 10 * 60_000;

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a machine that has node and npm but not this repository. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^npm_/i.test(name)) env[name] = value;
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !(dir + sep).startsWith(ROOT + sep))
    .join(delimiter);
  return { ...env, ...extra };
}

function exec(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; guardMs?: number },
): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), options.guardMs ?? COMMAND_GUARD_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(guard);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function ok(result: Result, what: string): Result {
  assert.equal(result.code, 0, `${what} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe('the packed package, installed from its tarball into an empty project', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-pack-'));
  const project = join(dir, 'project');
  const home = join(dir, 'home');
  const bin = join(project, 'node_modules', '.bin', 'bgtasks');
  let tarball = '';
  let daemon: ChildProcess | undefined;

  /** The installed `bgtasks` command, as `npx bgtasks` would run it. */
  const bgtasks = (...args: string[]): Promise<Result> => exec(bin, ['--home', home, ...args], { cwd: project });

  before(async () => {
    assert.ok(
      existsSync(join(ROOT, 'dist', 'cli', 'main.js')),
      'dist/ is missing: run `npm run build` first (npm test does)',
    );
    // --ignore-scripts: pack the dist/ the suite's build made instead of rebuilding it under the other tests.
    const packed = ok(
      await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT }),
      'npm pack',
    );
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    tarball = join(dir, basename(filename));

    mkdirSync(project);
    ok(await exec('npm', ['init', '-y'], { cwd: project }), 'npm init');
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown>;
    manifest.type = 'module';
    // The user's approval of better-sqlite3's install script (it fetches or compiles the native module).
    // The tarball itself is denied: npm counts its `prepare` (our build) as a script of a non-registry
    // source, though it never runs it for a tarball; an install from the registry does not ask.
    manifest.allowScripts = { 'better-sqlite3': true, [`file:${tarball}`]: false };
    writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    // better-sqlite3's install script runs (prebuild-install), but finds its binary in a local prebuild
    // made from the repository's own install (same version, same Node ABI, same machine) instead of
    // downloading it from GitHub or compiling it for minutes. Any other version falls back to the real
    // download or compile.
    const sqlite = join(ROOT, 'node_modules', 'better-sqlite3');
    const sqliteVersion = (JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string })
      .version;
    const prebuilds = join(dir, 'prebuilds');
    mkdirSync(prebuilds);
    if (existsSync(join(sqlite, 'build', 'Release', 'better_sqlite3.node'))) {
      const name = `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
      ok(
        await exec('tar', ['-czf', join(prebuilds, name), '-C', sqlite, 'build/Release/better_sqlite3.node'], {
          cwd: dir,
        }),
        'tar (local prebuild)',
      );
    }

    // --strict-allow-scripts: fails unless the project's allowScripts covers every install script, as
    // npm's coming default will.
    ok(
      await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--strict-allow-scripts', tarball], {
        cwd: project,
        env: { npm_config_better_sqlite3_local_prebuilds: prebuilds },
        guardMs: INSTALL_GUARD_MS,
      }),
      'npm install of the tarball',
    );
    assert.ok(
      !lstatSync(join(project, 'node_modules', 'bgtasks')).isSymbolicLink(),
      'bgtasks is installed, not linked',
    );
  });

  after(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGKILL');
      await new Promise((resolvePromise) => daemon!.once('exit', resolvePromise));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'holds dist (JS and types), the dashboard page, README and package.json; no ' +
      'tests, benchmarks, examples or source maps',
    async () => {
      const entries = ok(await exec('tar', ['-tzf', tarball], { cwd: dir }), 'tar -tzf')
        .stdout.split('\n')
        .filter(Boolean);
      for (const needed of [
        'package.json',
        'README.md',
        'LICENSE',
        'dist/cli/main.js',
        'dist/sdk/index.js',
        'dist/sdk/index.d.ts',
        'dist/testing/index.js',
        'dist/testing/index.d.ts',
        'dist/dashboard/index.html',
      ]) {
        assert.ok(entries.includes(`package/${needed}`), `the tarball has ${needed}`);
      }
      for (const asset of readdirSync(join(ROOT, 'src', 'dashboard'))) {
        assert.ok(entries.includes(`package/dist/dashboard/${asset}`), `the tarball has the dashboard's ${asset}`);
      }
      const outside = entries.filter((entry) => !/^package\/(dist\/|README\.md$|LICENSE$|package\.json$)/.test(entry));
      assert.deepEqual(outside, [], 'nothing but dist/, README, LICENSE and package.json');
      const unwanted = entries.filter((entry) =>
        /(^|\/)(test|tests|bench|examples)\/|\.test\.|\.map$|\.tsbuildinfo$/.test(entry),
      );
      assert.deepEqual(unwanted, []);
    },
  );

  it('`npx bgtasks --version` prints the package version', async () => {
    // --no: npx must find the installed command, never fetch one; `--` keeps --version from npx itself.
    const result = ok(
      await exec('npx', ['--no', '--', 'bgtasks', '--version'], { cwd: project }),
      'npx bgtasks --version',
    );
    assert.equal(result.stdout.trim(), VERSION);
  });

  it('`bgtasks` and `bgtasks/testing` type-check with the installed types and import at run time', async () => {
    writeFileSync(
      join(project, 'check.ts'),
      [
        "import { BGTaskScheduler, BGAppRefreshTaskRequest, BGTaskSchedulerError, type BGTask } from 'bgtasks';",
        "import { createTestSystem, VirtualClock } from 'bgtasks/testing';",
        'const scheduler: BGTaskScheduler = BGTaskScheduler.shared;',
        'export const registered: boolean = ' +
          "scheduler.register('com.example.smoke.refresh', async (task: BGTask) => " +
          'task.signal.throwIfAborted());',
        "const request = new BGAppRefreshTaskRequest('com.example.smoke.refresh');",
        'request.earliestBeginDate = new Date(0);',
        'export const submit = (): Promise<void> => scheduler.submit(request);',
        'export const isSchedulerError = (error: unknown): boolean => error instanceof BGTaskSchedulerError;',
        'export const start: typeof createTestSystem = createTestSystem;',
        'export const clock = new VirtualClock();',
        '// @ts-expect-error: the installed types are real, not any: a request needs its identifier',
        'export const wrong = new BGAppRefreshTaskRequest();',
        '',
      ].join('\n'),
    );
    // skipLibCheck off: the installed .d.ts files themselves must check. @types/node stands in for the
    // user's own; nothing else comes from the repository.
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            lib: ['ES2023', 'ESNext.Disposable'],
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            typeRoots: [join(ROOT, 'node_modules', '@types')],
            types: ['node'],
          },
          files: ['check.ts'],
        },
        null,
        2,
      ),
    );
    ok(await exec(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }), 'tsc --noEmit');

    writeFileSync(
      join(project, 'check.mjs'),
      [
        "import * as sdk from 'bgtasks';",
        "import * as testing from 'bgtasks/testing';",
        'console.log(JSON.stringify({ sdk: typeof sdk.BGTaskScheduler, request: ' +
          'typeof sdk.BGAppRefreshTaskRequest, testing: typeof ' +
          "testing.createTestSystem, from: import.meta.resolve('bgtasks') }));",
        '',
      ].join('\n'),
    );
    const imported = JSON.parse(
      ok(await exec(process.execPath, ['check.mjs'], { cwd: project }), 'node check.mjs').stdout,
    ) as Record<string, string>;
    assert.deepEqual(
      { ...imported, from: undefined },
      { sdk: 'function', request: 'function', testing: 'function', from: undefined },
    );
    assert.ok(
      imported.from!.startsWith(`file://${join(project, 'node_modules', 'bgtasks')}/`),
      `bgtasks resolves to the install, not ${imported.from}`,
    );
  });

  it(
    "the installed daemon starts, runs an example app's task to success, and " + 'stops on SIGTERM with exit 0',
    async () => {
      // The feed reader, as a user would copy it into their project: it imports 'bgtasks' and finds the
      // installed package in the project's node_modules (the examples have no dependency of their own).
      const feeds = join(project, 'feeds');
      cpSync(join(ROOT, 'examples', 'feeds'), feeds, {
        recursive: true,
        filter: (source) => !/\.test\.mjs$|[/\\]data$/.test(source),
      });
      const resolved = ok(
        await exec(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('bgtasks'))"], {
          cwd: feeds,
        }),
        'resolve bgtasks',
      );
      assert.ok(
        resolved.stdout.trim().startsWith(`file://${join(project, 'node_modules', 'bgtasks')}/`),
        `the app imports the install, not ${resolved.stdout}`,
      );

      let log = '';
      // The daemon passes its environment to the apps it launches: a short refresh interval for the test.
      const child = spawn(bin, ['daemon', '--home', home, '--no-http'], {
        cwd: project,
        env: cleanEnv({ FEEDS_REFRESH_INTERVAL_MS: '300' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      daemon = child;
      const exited = new Promise<number | null>((resolvePromise) => child.once('exit', (code) => resolvePromise(code)));
      child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      await until(
        'the daemon to listen',
        () => {
          if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}:\n${log}`);
          return log.includes('listening') ? true : undefined;
        },
        COMMAND_GUARD_MS,
      );

      // This machine's real load (PSI) and heat must not decide whether the task runs (as in the other
      // integration tests).
      ok(
        await bgtasks(
          'conditions',
          'set',
          'cpuPressure=nominal',
          'memoryPressure=nominal',
          'ioPressure=nominal',
          'thermalState=nominal',
        ),
        'conditions set',
      );
      ok(await bgtasks('install', feeds), 'bgtasks install');
      ok(await bgtasks('open', 'com.example.feeds'), 'bgtasks open');
      const run = await until(
        'a background refresh to succeed',
        async () => {
          const history = await bgtasks('history', 'com.example.feeds', '--json');
          if (history.code !== 0) return undefined;
          const runs = JSON.parse(history.stdout) as {
            identifier: string;
            outcome: string | null;
            background: boolean;
          }[];
          return runs.find(
            (entry) =>
              entry.identifier === 'com.example.feeds.refresh' && entry.outcome === 'success' && entry.background,
          );
        },
        COMMAND_GUARD_MS,
      );
      assert.equal(run.outcome, 'success');
      ok(await bgtasks('apps', 'disable', 'com.example.feeds'), 'stop the refresh loop');

      child.kill('SIGTERM');
      assert.equal(await exited, 0, `the daemon's exit code on SIGTERM:\n${log}`);
    },
  );
});
