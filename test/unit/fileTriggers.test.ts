/**
 * File triggers: the pure part (bounded merging, listing differences, path rules), the
 * watcher hub on real files (its limits and release), and a triggered request in the scheduler through
 * the testing kit: it waits, says why, runs with the changes as `task.data`, and waits again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkTriggerPaths,
  mergeChanges,
  snapshotChanges,
  TRIGGER_LIMITS,
  withChangesOf,
  type FileChange,
  type FileTriggers,
} from '../../src/engine/triggers/fileTriggers.js';
import { checkTriggerBudget } from '../../src/engine/triggers/triggerRequest.js';
import { FileTriggerHub } from '../../src/triggers/triggerHub.js';
import { SystemClock } from '../../src/shared/systemClock.js';
import type { TaskRequest } from '../../src/engine/types.js';
import { BGProcessingTaskRequest, type BGTaskScheduler } from '../../src/sdk/index.js';
import { createTestSystem } from '../../src/testing/index.js';

const empty: FileTriggers = { paths: ['/in'], debounceMs: 0, changes: [], snapshot: null };
const kinds = fc.constantFrom<FileChange['kind']>('created', 'modified', 'deleted');

describe('file triggers, the pure part', () => {
  it('keeps one change per path, the latest, bounded, and says when more were seen (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ path: fc.integer({ min: 0, max: 400 }).map((n) => `/in/${n}`), kind: kinds }), {
          maxLength: 600,
        }),
        (changes) => {
          const merged = mergeChanges(empty, changes);
          const paths = merged.changes.map((change) => change.path);
          assert.equal(new Set(paths).size, paths.length, 'one per path');
          assert.ok(merged.changes.length <= TRIGGER_LIMITS.changesPerRun);
          const distinct = new Set(changes.map((change) => change.path)).size;
          assert.equal(merged.truncated === true, distinct > TRIGGER_LIMITS.changesPerRun);
          for (const change of merged.changes) {
            const last = changes.filter((each) => each.path === change.path).at(-1)!;
            const wasCreated = changes.some((each) => each.path === change.path && each.kind === 'created');
            assert.ok(
              change.kind === last.kind || (last.kind === 'modified' && wasCreated && change.kind === 'created'),
            );
          }
        },
      ),
    );
  });

  it('tells created, modified and deleted entries apart between two listings', () => {
    const before = { '/in': { a: 1, b: 2, c: 3 }, '/file': { '': 5 } };
    const after = { '/in': { a: 1, b: 9, d: 4 }, '/file': { '': 6 } };
    assert.deepEqual(snapshotChanges(before, after), [
      { path: '/in/b', kind: 'modified' },
      { path: '/in/d', kind: 'created' },
      { path: '/in/c', kind: 'deleted' },
      { path: '/file', kind: 'modified' },
    ]);
    assert.deepEqual(snapshotChanges(after, after), []);
  });

  it('refuses relative paths and too many, naming the field', () => {
    assert.deepEqual(checkTriggerPaths(['~/Inbox', '/srv/in']), null);
    assert.equal(checkTriggerPaths(['/ok', 'Inbox'])?.field, 'triggers.paths.1');
    assert.equal(checkTriggerPaths(['/srv/../etc'])?.field, 'triggers.paths.0');
    assert.equal(checkTriggerPaths(Array.from({ length: 17 }, (_, i) => `/p${i}`))?.field, 'triggers.paths');
  });

  it('bounds the paths an app watches in all its requests', () => {
    const sixteen = (n: number) => Array.from({ length: 16 }, (_, i) => `/p${n}-${i}`);
    const pending = [0, 1, 2].map((n) => ({ identifier: `x.${n}`, triggers: { ...empty, paths: sixteen(n) } }));
    assert.equal(checkTriggerBudget(pending, 'x.3', sixteen(3)), null);
    assert.equal(
      checkTriggerBudget([...pending, { identifier: 'x.3', triggers: { ...empty, paths: sixteen(3) } }], 'x.4', [
        '/one',
      ])?.field,
      'triggers.paths',
    );
    assert.equal(
      checkTriggerBudget([...pending, { identifier: 'x.3', triggers: { ...empty, paths: sixteen(3) } }], 'x.3', [
        '/one',
      ]),
      null,
      'a replacement',
    );
  });

  it('gives an interrupted run’s changes to the request waiting for the next change', () => {
    const run = { triggers: { ...empty, changes: [{ path: '/in/a', kind: 'created' as const }] } };
    const pending = { triggers: { ...empty, changes: [{ path: '/in/b', kind: 'created' as const }] } };
    assert.deepEqual(
      withChangesOf(pending, run)?.triggers?.changes.map((change) => change.path),
      ['/in/a', '/in/b'],
    );
    assert.equal(withChangesOf(pending, { triggers: empty }), null);
  });
});

describe('the watcher hub, on real files', () => {
  const request = (appId: string, identifier: string, paths: string[]): TaskRequest => ({
    requestId: `${appId}/${identifier}`,
    appId,
    identifier,
    kind: 'processing',
    earliestBeginAt: null,
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: null,
    submittedAt: 0,
    triggers: { paths, debounceMs: 20, changes: [], snapshot: null },
  });

  it(
    'reports a dropped file once the burst is over, stops when the request goes, ' + 'and bounds what an app watches',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bgt-watch-'));
      const recorded: { identifier: string; changes: readonly FileChange[] }[] = [];
      const warnings: string[] = [];
      const hub = new FileTriggerHub({
        clock: new SystemClock(),
        homeDir: dir,
        log: { info: () => {}, warn: (message) => void warnings.push(message) },
        record: async (_appId, identifier, changes) => void recorded.push({ identifier, changes }),
      });
      try {
        hub.sync([request('a', 'a.watch', ['~'])]);
        const deadline = Date.now() + 10_000;
        const waitFor = async (check: () => boolean) => {
          while (!check()) {
            if (Date.now() > deadline) throw new Error(`gave up: ${JSON.stringify(recorded)}`);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        };
        await waitFor(() => recorded.length === 1); // the first look stores the listing, with no change
        assert.deepEqual(recorded[0]!.changes, []);
        writeFileSync(join(dir, 'one.txt'), '1');
        writeFileSync(join(dir, 'one.txt'), '2');
        await waitFor(() => recorded.some((entry) => entry.changes.length > 0));
        assert.deepEqual(recorded.at(-1)!.changes, [{ path: join(dir, 'one.txt'), kind: 'created' }]);
        hub.sync([]);
        assert.equal(hub.size, 0, 'released');
        const many = Array.from({ length: 5 }, (_, i) =>
          request(
            'b',
            `b.watch${i}`,
            Array.from({ length: 16 }, (_, j) => `${dir}/p${i}-${j}`),
          ),
        );
        hub.sync(many);
        assert.equal(hub.size, 4, `${TRIGGER_LIMITS.pathsPerApp} paths per app`);
        assert.equal(warnings.length, 1);
      } finally {
        hub.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('a triggered request in the scheduler (the kit, virtual time)', () => {
  const APP = 'com.example.inbox';
  const IMPORT = 'com.example.inbox.import';
  const manifest = { appId: APP, permittedIdentifiers: [IMPORT], backgroundModes: ['processing'] as 'processing'[] };

  it('waits for a change, says so, runs with the changes as task.data, and waits again', async () => {
    const received: unknown[] = [];
    const main = (scheduler: BGTaskScheduler) => {
      scheduler.register(IMPORT, async (task) => void received.push(task.data));
      if (scheduler.launchReason !== 'user') return undefined;
      const request = new BGProcessingTaskRequest(IMPORT);
      request.triggers = { paths: ['~/Inbox'] };
      return scheduler.submit(request);
    };
    await using system = await createTestSystem({ apps: [{ manifest, main }], profile: 'server' });
    await system.openApp(APP);
    await system.closeApp(APP);
    await system.advanceBy(60 * 60_000);
    assert.equal(received.length, 0);
    const why = await system.why(APP, IMPORT);
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'waitsForFileChange');
    assert.match(why.summary, /It runs on changes to ~\/Inbox\./);
    await system.fileChanged(APP, IMPORT, [{ path: '/home/u/Inbox/a.pdf', kind: 'created' }]);
    await system.next('completed', IMPORT);
    assert.deepEqual(received, [
      { trigger: { changes: [{ path: '/home/u/Inbox/a.pdf', kind: 'created' }], truncated: false } },
    ]);
    const [pending] = system.pending(APP);
    assert.deepEqual(pending?.request.triggers?.changes, [], 'the next request waits for the next change');
    const [run] = await system.history({ identifier: IMPORT });
    assert.equal(run?.launch, 'launched', 'its app was not running: it was launched for the change');
  });

  it("gives a triggered request's object payload with the changes added under `trigger`", async () => {
    const received: unknown[] = [];
    const main = (scheduler: BGTaskScheduler) => {
      scheduler.register(IMPORT, async (task) => void received.push(task.data));
      if (scheduler.launchReason !== 'user') return undefined;
      const request = new BGProcessingTaskRequest(IMPORT);
      request.triggers = { paths: ['~/Inbox'] };
      request.data = { album: 'holidays' };
      return scheduler.submit(request);
    };
    await using system = await createTestSystem({ apps: [{ manifest, main }], profile: 'server' });
    await system.openApp(APP);
    await system.closeApp(APP);
    const change = { path: '/home/u/Inbox/b.jpg', kind: 'created' as const };
    await system.fileChanged(APP, IMPORT, [change]);
    await system.next('completed', IMPORT);
    assert.deepEqual(received, [{ album: 'holidays', trigger: { changes: [change], truncated: false } }]);
  });
});
