import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PendingRequestView, RunningTaskView, SystemSnapshot } from '../../src/daemon/snapshot.js';
import type { TaskRun } from '../../src/engine/types.js';
import { renderTop } from '../../src/cli/topRender.js';
import { textWidth } from '../../src/cli/topText.js';

// Times of day in the frame are local: pin the zone so the expected text is the same everywhere.
process.env.TZ = 'UTC';

const AT = Date.UTC(2025, 0, 15, 12, 0, 0);
const CONDITIONS: SystemSnapshot['conditions'] = {
  conditions: {
    power: 'ac',
    batteryLevel: null,
    lowPowerMode: false,
    network: 'online',
    networkCost: 'unmetered',
    userActivity: 'noSeat',
    idleSince: null,
    thermalState: 'nominal',
    cpuPressure: 'nominal',
    memoryPressure: 'nominal',
    ioPressure: 'nominal',
  },
  origins: {
    power: 'sensor',
    batteryLevel: 'default',
    lowPowerMode: 'sensor',
    network: 'sensor',
    networkCost: 'default',
    userActivity: 'sensor',
    idleSince: 'default',
    thermalState: 'override',
    cpuPressure: 'sensor',
    memoryPressure: 'sensor',
    ioPressure: 'sensor',
  },
  readAt: AT,
};

function snapshot(parts: Partial<SystemSnapshot> = {}): SystemSnapshot {
  return {
    at: AT,
    daemonVersion: '0.1.0',
    profile: 'server',
    backgroundAppRefresh: true,
    conditions: CONDITIONS,
    running: [],
    pending: [],
    recent: [],
    apps: [],
    notifications: [],
    notificationRequests: [],
    ...parts,
  };
}

function task(parts: Partial<RunningTaskView> = {}): RunningTaskView {
  return {
    taskId: 't1',
    appId: 'com.example.export',
    identifier: 'com.example.export.job.1',
    kind: 'processing',
    state: 'running',
    title: null,
    subtitle: null,
    progress: null,
    startedAt: AT - 42_000,
    deadlineAt: null,
    elapsedMs: 42_000,
    estimatedRemainingMs: null,
    launch: 'alreadyRunning',
    background: false,
    ...parts,
  };
}

/** A task at 45 %: 45 of 100 units in 42 s, about 51 s to go. */
const COUNTING = task({
  title: 'Exporting photos',
  subtitle: '45 of 100 photos',
  progress: { completed: 45, total: 100, fraction: 0.45 },
  estimatedRemainingMs: 51_000,
});

function pending(identifier: string, parts: Partial<PendingRequestView> = {}): PendingRequestView {
  return {
    appId: 'com.example.feeds',
    identifier,
    kind: 'refresh',
    title: null,
    subtitle: null,
    earliestBeginAt: null,
    submittedAt: AT - 60_000,
    eligible: false,
    reasons: ['earliestBeginDate'],
    message: 'will start after 12:15:00',
    queuePosition: null,
    ...parts,
  };
}

function finished(identifier: string, outcome: string, startedAt: number, completedAt: number): TaskRun {
  // Only what the screen reads; the rest of a run does not matter to it.
  return {
    taskId: identifier,
    appId: 'com.example.feeds',
    identifier,
    state: 'finished',
    outcome,
    reason: null,
    submittedAt: startedAt,
    startedAt,
    completedAt,
  } as unknown as TaskRun;
}

const APPS: SystemSnapshot['apps'] = [
  {
    appId: 'com.example.export',
    enabled: true,
    connected: true,
    pending: 0,
    running: 1,
    usage: null,
    notifications: 'notDetermined',
    pushes: { waiting: 0, held: 0 },
    ranOnce: [],
  },
];
const plain = { width: 100, height: Infinity, color: false, now: AT };

describe('renderTop', () => {
  it('draws a task at 45 % with its bar, counts, elapsed and remaining time', () => {
    const lines = renderTop(snapshot({ running: [COUNTING], apps: APPS }), plain);
    const text = lines.join('\n');
    assert.match(text, /^RUNNING \(1\)$/m);
    assert.match(text, /^ {2}com\.example\.export {2}Exporting photos {2}com\.example\.export\.job\.1$/m);
    assert.match(text, /^ {4}45 of 100 photos$/m);
    // 30 cells at this width: 13 full (45 % floored), 17 empty.
    assert.match(text, /^ {4}\[█{13}░{17}\] {2}45% {2}45\/100 {2}elapsed 0:42 {2}~0:51 left$/m);
  });

  it('moves elapsed and remaining time on between snapshots, and never shows 100 % before the last unit', () => {
    const almost = task({ progress: { completed: 999, total: 1000, fraction: 0.999 }, estimatedRemainingMs: 1000 });
    const text = renderTop(snapshot({ running: [COUNTING, almost] }), { ...plain, now: AT + 5000 }).join('\n');
    assert.match(text, /45% {2}45\/100 {2}elapsed 0:47 {2}~0:46 left/);
    assert.match(text, / 99% {2}999\/1000 {2}elapsed 0:47 {2}~0:00 left/);
  });

  it('shows what a pending request recurs on: its calendar or interval', () => {
    const nightly = pending('com.example.feeds.nightly', {
      schedule: 'calendar "Mon..Fri *-*-* 03:00:00" (Europe/Paris), period 4',
    });
    const text = renderTop(snapshot({ pending: [nightly] }), { ...plain, width: 200 }).join('\n');
    assert.match(
      text,
      /com\.example\.feeds\.nightly .*\(calendar "Mon\.\.Fri \*-\*-\* 03:00:00" \(Europe\/Paris\), period 4\)/,
    );
  });

  it('says "running" with the time for a task without progress, and when it expires', () => {
    const text = renderTop(snapshot({ running: [task({ deadlineAt: AT + 18_000 })] }), plain).join('\n');
    assert.match(text, /^ {4}running 0:42 {2}expires in 0:18$/m);
  });

  it('shows an empty system with a helpful line in every section', () => {
    const lines = renderTop(snapshot(), plain);
    assert.deepEqual(lines, [
      'bgtasks top · daemon 0.1.0 · profile server · Background App Refresh on · 0 apps            12:00:00',
      '[AC power] [online] [no seat (headless)] [thermal nominal*] [load nominal] [* overridden]',
      'no apps installed yet: bgtasks install DIR adds one',
      '',
      'RUNNING',
      '  nothing running now; tasks show here, with their progress, while they run',
      '',
      'QUEUE',
      '  no continued processing requests waiting for a slot',
      '',
      'PENDING',
      '  nothing pending; apps submit requests with BGTaskScheduler.shared.submit()',
      '',
      'RECENT',
      '  no finished runs yet (bgtasks history lists every run)',
    ]);
  });

  it('lists the queue by position, what holds each pending request, and recent runs', () => {
    const text = renderTop(
      snapshot({
        apps: APPS,
        pending: [
          pending('com.example.export.job.3', {
            kind: 'continued',
            title: 'Export album',
            queuePosition: 2,
            reasons: ['concurrency'],
            message: 'waits for a slot',
          }),
          pending('com.example.export.job.2', {
            kind: 'continued',
            title: 'Export video',
            queuePosition: 1,
            reasons: ['concurrency'],
            message: 'waits for a slot',
          }),
          pending('com.example.feeds.refresh', { reasons: ['earliestBeginDate', 'requiresExternalPower'] }),
          pending('com.example.feeds.cleanup', { eligible: true, reasons: [], message: null }),
        ],
        recent: [
          finished('com.example.feeds.refresh', 'success', AT - 5000, AT - 3800),
          finished('com.example.feeds.sync', 'failure', AT - 9000, AT - 8990),
        ],
      }),
      plain,
    ).join('\n');
    assert.match(
      text,
      /QUEUE \(2\)\n {2}#1 {2}com\.example\.feeds {2}Export video {2}com\.example\.export\.job\.2\n {2}#2 /,
    );
    assert.match(text, /^ {2}com\.example\.feeds\.refresh {2}earliestBeginDate \+1: will start after 12:15:00$/m);
    assert.match(text, /^ {2}com\.example\.feeds\.cleanup {2}eligible: starts at the next chance$/m);
    assert.match(text, /^ {2}11:59:56 {2}com\.example\.feeds {2}com\.example\.feeds\.refresh {2}success {2}1\.2s$/m);
    assert.match(text, /^ {2}11:59:51 {2}com\.example\.feeds {2}com\.example\.feeds\.sync {5}failure {2}10ms$/m);
  });

  it(
    'follows a dependent with the chain it waits on, each prerequisite with where ' + 'it stands (docs/workflows.md)',
    () => {
      const upload = pending('com.example.feeds.upload', {
        reasons: ['waitingForPrerequisites'],
        message: 'waits for com.example.feeds.export (running)',
        prerequisites: [
          { identifier: 'com.example.feeds.export', state: 'running' },
          { identifier: 'com.example.feeds.scan', state: 'succeeded' },
        ],
      });
      const text = renderTop(snapshot({ pending: [upload] }), plain).join('\n');
      assert.match(
        text,
        /com\.example\.feeds\.upload {2}waitingForPrerequisites: waits for com\.example\.feeds\.export \(running\)/,
      );
      assert.match(text, /^ +after com\.example\.feeds\.export running, com\.example\.feeds\.scan succeeded$/m);
    },
  );

  it('fits narrow terminals: no line wider than the width, the numbers under the bar', () => {
    for (const width of [60, 40, 24, 12]) {
      const lines = renderTop(
        snapshot({ running: [COUNTING], pending: [pending('com.example.feeds.refresh')], apps: APPS }),
        { ...plain, width },
      );
      for (const line of lines) assert.ok(textWidth(line) <= width, `${width}: "${line}" is ${textWidth(line)} wide`);
      if (width >= 24)
        assert.ok(
          lines.some((line) => /\[█+░+\]\s+45%/.test(line)),
          `${width}: a bar with its percentage:\n${lines.join('\n')}`,
        );
    }
    const narrow = renderTop(snapshot({ running: [COUNTING] }), { ...plain, width: 40 });
    const bar = narrow.findIndex((line) => line.includes('45%'));
    assert.equal(narrow[bar + 1], '    45/100  elapsed 0:42  ~0:51 left');
  });

  it('fits the height: less urgent sections shrink first, the footer stays on the bottom row', () => {
    const many = Array.from({ length: 30 }, (_, index) => pending(`com.example.feeds.p${index}`));
    const recent = Array.from({ length: 10 }, (_, index) =>
      finished(`com.example.feeds.r${index}`, 'success', AT - 1000, AT),
    );
    const lines = renderTop(snapshot({ running: [COUNTING], pending: many, recent, apps: APPS }), {
      ...plain,
      height: 20,
      footer: 'q quit',
    });
    assert.equal(lines.length, 20);
    assert.equal(lines.at(-1), 'q quit');
    const text = lines.join('\n');
    assert.match(text, /45%/, 'the running task keeps its bar');
    assert.match(text, /RECENT \(10\)\n {2}… 10 more/);
    assert.match(text, /PENDING \(30\)\n( {2}com\.example\.feeds\.p\d+ .*\n)+ {2}… \d+ more/);
    assert.equal(
      renderTop(snapshot(), { ...plain, height: 30, footer: 'q quit' }).length,
      30,
      'short frames are padded so the footer is at the bottom',
    );
  });

  it("paints only when asked, and never passes an app's control characters to the terminal", () => {
    const hostile = task({ title: 'evil\x1b]0;owned\x07title', subtitle: 'line\nbreak\x9b2J' });
    const plainText = renderTop(snapshot({ running: [hostile, COUNTING] }), plain).join('\n');
    const controls = [...plainText].filter(
      (char) => char !== '\n' && (char < ' ' || (char >= '\x7f' && char <= '\x9f')),
    );
    assert.deepEqual(controls, []);
    assert.match(plainText, /evil \]0;owned title/);
    assert.match(plainText, /line break 2J/);
    const colored = renderTop(snapshot({ running: [COUNTING] }), { ...plain, color: true }).join('\n');
    assert.ok(colored.includes(`\x1b[36m${'█'.repeat(13)}\x1b[0m`), 'the filled part of the bar in cyan');
    assert.ok(colored.includes('\x1b[32mon\x1b[0m'), 'Background App Refresh "on" in green');
  });

  it('flags Background App Refresh off and conditions that hold tasks', () => {
    const text = renderTop(
      snapshot({
        backgroundAppRefresh: false,
        conditions: {
          ...CONDITIONS,
          conditions: {
            ...CONDITIONS.conditions,
            power: 'battery',
            batteryLevel: 15,
            lowPowerMode: true,
            network: 'offline',
            cpuPressure: 'serious',
          },
        },
      }),
      plain,
    ).join('\n');
    assert.match(text, /Background App Refresh OFF for all apps/);
    assert.match(
      text,
      /\[battery 15%\] \[Low Power Mode\] \[offline\] .*\[cpu serious\]\s\[memory nominal\] \[io nominal\]/,
    );
  });
});
