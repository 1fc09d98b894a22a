import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import {
  BackgroundPriority,
  DEFAULT_BACKGROUND_PRIORITY,
  findExecutable,
  planBackgroundLaunch,
  probeUserScope,
  scopeUnitName,
  type PlanContext,
  type PriorityTools,
} from '../../src/daemon/processPriority.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-prio-'));
after(() => rmSync(base, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(base, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const TOOLS: PriorityTools = {
  nice: '/usr/bin/nice',
  ionice: '/usr/bin/ionice',
  systemdRun: '/usr/bin/systemd-run',
  taskpolicy: null,
};
const APP = ['/opt/app/bin/app', '--flag'];

function ctx(overrides: Partial<PlanContext> & { tools?: Partial<PriorityTools> } = {}): PlanContext {
  return {
    support: overrides.support ?? {
      platform: 'linux',
      tools: { ...TOOLS, ...overrides.tools },
      userScope: { usable: true },
    },
    options: overrides.options ?? DEFAULT_BACKGROUND_PRIORITY,
    currentNice: overrides.currentNice ?? 0,
    unitName: overrides.unitName ?? 'bgtasks-app-1.scope',
  };
}

describe('planBackgroundLaunch', () => {
  it('puts the scope, nice and ionice in front of the app, each ending its options with --', () => {
    const plan = planBackgroundLaunch(APP, ctx());
    assert.deepEqual(plan.argv, [
      '/usr/bin/systemd-run',
      '--user',
      '--scope',
      '--quiet',
      '--collect',
      '--unit=bgtasks-app-1.scope',
      '-p',
      'CPUWeight=20',
      '--',
      '/usr/bin/nice',
      '-n',
      '10',
      '--',
      '/usr/bin/ionice',
      '-c',
      '3',
      '-t',
      '--',
      ...APP,
    ]);
    assert.deepEqual(plan.applied, {
      nice: 10,
      ioClass: 'idle',
      cgroup: 'bgtasks-app-1.scope (CPUWeight=20)',
      notes: [],
    });
  });

  it('skips the scope and says why when no user manager is reachable', () => {
    const plan = planBackgroundLaunch(
      APP,
      ctx({
        support: { platform: 'linux', tools: TOOLS, userScope: { usable: false, reason: 'no user systemd manager' } },
      }),
    );
    assert.equal(plan.argv[0], '/usr/bin/nice');
    assert.equal(plan.applied.cgroup, null);
    assert.deepEqual(plan.applied.notes, ['cgroup: skipped, no user systemd manager']);
  });

  it('nices relative to the daemon, and not at all when the daemon is already as low', () => {
    assert.deepEqual(planBackgroundLaunch(APP, ctx({ currentNice: 4 })).argv.slice(9, 13), [
      '/usr/bin/nice',
      '-n',
      '6',
      '--',
    ]);
    const plan = planBackgroundLaunch(APP, ctx({ currentNice: 12 }));
    assert.ok(!plan.argv.includes('/usr/bin/nice'));
    assert.equal(plan.applied.nice, 12);
    assert.match(plan.applied.notes.join('\n'), /already runs at nice 12/);
  });

  it('uses best-effort level 7 when asked, and nothing for io none', () => {
    const low = planBackgroundLaunch(
      APP,
      ctx({ options: { ...DEFAULT_BACKGROUND_PRIORITY, io: 'best-effort-low', cpuWeight: null } }),
    );
    assert.deepEqual(low.argv, [
      '/usr/bin/nice',
      '-n',
      '10',
      '--',
      '/usr/bin/ionice',
      '-c',
      '2',
      '-n',
      '7',
      '-t',
      '--',
      ...APP,
    ]);
    assert.equal(low.applied.ioClass, 'best-effort:7');
    const none = planBackgroundLaunch(
      APP,
      ctx({ options: { ...DEFAULT_BACKGROUND_PRIORITY, io: 'none', cpuWeight: null } }),
    );
    assert.deepEqual(none.argv, ['/usr/bin/nice', '-n', '10', '--', ...APP]);
    assert.deepEqual(none.applied, { nice: 10, ioClass: null, cgroup: null, notes: [] });
  });

  it('records missing tools as notes and still launches the app', () => {
    const plan = planBackgroundLaunch(APP, ctx({ tools: { nice: null, ionice: null, systemdRun: null } }));
    assert.deepEqual(plan.argv, APP);
    assert.equal(plan.applied.nice, null);
    assert.equal(plan.applied.ioClass, null);
    assert.equal(plan.applied.notes.length, 2);
  });

  it('uses taskpolicy -b on macOS and no cgroup', () => {
    const plan = planBackgroundLaunch(
      APP,
      ctx({
        support: {
          platform: 'darwin',
          tools: { nice: '/usr/bin/nice', ionice: null, systemdRun: null, taskpolicy: '/usr/sbin/taskpolicy' },
          userScope: { usable: false, reason: 'cgroups are Linux only (darwin)' },
        },
      }),
    );
    assert.deepEqual(plan.argv, ['/usr/bin/nice', '-n', '10', '--', '/usr/sbin/taskpolicy', '-b', '--', ...APP]);
    assert.deepEqual(plan.applied, { nice: 10, ioClass: 'darwin-background', cgroup: null, notes: [] });
  });
});

describe('probeUserScope', () => {
  it('says why when there is no manager to talk to', () => {
    assert.deepEqual(probeUserScope(null, {}, 20), { usable: false, reason: 'systemd-run not found' });
    assert.deepEqual(probeUserScope('/usr/bin/systemd-run', {}, 20), {
      usable: false,
      reason: 'no user systemd manager (XDG_RUNTIME_DIR is not set)',
    });
    const empty = mkdtempSync(join(base, 'run-'));
    const result = probeUserScope('/usr/bin/systemd-run', { XDG_RUNTIME_DIR: empty }, 20);
    assert.equal(result.usable, false);
    assert.match(result.usable ? '' : result.reason, /no socket/);
  });

  it('runs one throwaway scope and reports its error', () => {
    const runtime = mkdtempSync(join(base, 'run-'));
    writeFileSync(join(runtime, 'bus'), ''); // only its existence is checked before the real probe
    const ok = script('systemd-run-ok', 'while [ "$1" != "--" ]; do shift; done; shift; exec "$@"');
    assert.deepEqual(probeUserScope(ok, { XDG_RUNTIME_DIR: runtime, PATH: process.env.PATH }, 20), { usable: true });
    const failing = script('systemd-run-fail', 'echo "Failed to connect to bus: No medium found" >&2; exit 1');
    assert.deepEqual(probeUserScope(failing, { XDG_RUNTIME_DIR: runtime }, 20), {
      usable: false,
      reason: 'systemd-run --user --scope failed: Failed to connect to bus: No medium found',
    });
  });
});

describe('findExecutable and scopeUnitName', () => {
  it('finds commands on PATH or relative to the cwd, and only executable files', () => {
    const dir = mkdtempSync(join(base, 'bin-'));
    const tool = script('tool-x', 'exit 0');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'plain'), 'not executable');
    assert.equal(findExecutable('tool-x', `/nonexistent:${base}`), tool);
    assert.equal(findExecutable('./tool-x', undefined, base), tool);
    assert.equal(findExecutable('sub/plain', undefined, dir), null);
    assert.equal(findExecutable('sub', `${dir}`), null); // a directory is not a command
    assert.equal(findExecutable('bgtasks-no-such-command', process.env.PATH), null);
  });

  it('builds unit names from the allowed characters only', () => {
    assert.equal(scopeUnitName('com.example.app', '0190-ab'), 'bgtasks-com.example.app-0190-ab.scope');
    assert.equal(scopeUnitName('a b/c', 'x$y'), 'bgtasks-a_b_c-x_y.scope');
  });
});

describe('BackgroundPriority', () => {
  it('rejects out-of-range options at construction', () => {
    assert.throws(() => new BackgroundPriority({}, { options: { nice: 20 } }), RangeError);
    assert.throws(() => new BackgroundPriority({}, { options: { nice: -1 } }), RangeError);
    assert.throws(() => new BackgroundPriority({}, { options: { cpuWeight: 0 } }), RangeError);
  });

  it('resolves the support once and caches it', () => {
    const priority = new BackgroundPriority({ PATH: process.env.PATH }, { platform: 'linux' });
    const support = priority.support();
    assert.equal(priority.support(), support);
    const hasNice = spawnSync('sh', ['-c', 'command -v nice']).status === 0;
    assert.equal(support.tools.nice !== null, hasNice);
    assert.equal(support.tools.taskpolicy, null);
  });

  it('leaves user launches and unknown commands unwrapped', () => {
    const priority = new BackgroundPriority({ PATH: process.env.PATH }, { platform: 'linux' });
    const user = priority.plan([process.execPath], {
      reason: 'user',
      cwd: base,
      pathVar: process.env.PATH,
      unitName: 'u.scope',
    });
    assert.deepEqual(user.argv, [process.execPath]);
    assert.equal(user.applied.nice, null);
    const missing = priority.plan(['bgtasks-no-such-command'], {
      reason: 'background',
      cwd: base,
      pathVar: process.env.PATH,
      unitName: 'u.scope',
    });
    assert.deepEqual(missing.argv, ['bgtasks-no-such-command']);
    assert.match(missing.applied.notes.join('\n'), /command not found/);
  });
});
