import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/daemon/logger.js';
import { TaskLog } from '../../src/daemon/taskLog.js';
import type { TaskRun } from '../../src/engine/types.js';

/** A logger writing into an array, as the daemon's writes to a pipe. */
function capture(format: 'json' | 'pretty', level = 'debug') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const log = createLogger({ level, format, destination });
  const wrapped = {
    debug: (message: string, fields?: Record<string, unknown>) => log.debug(fields ?? {}, message),
    info: (message: string, fields?: Record<string, unknown>) => log.info(fields ?? {}, message),
    warn: (message: string, fields?: Record<string, unknown>) => log.warn(fields ?? {}, message),
    error: (message: string, fields?: Record<string, unknown>) => log.error(fields ?? {}, message),
  };
  return { lines, log: wrapped, flushed: () => new Promise<void>((resolve) => setImmediate(resolve)) };
}

const run = (taskId: string): TaskRun =>
  ({
    taskId,
    requestId: `r-${taskId}`,
    appId: 'com.example.feeds',
    identifier: 'com.example.feeds.refresh',
    kind: 'refresh',
    state: 'dispatched',
    dispatchedAt: 1_000,
    startedAt: null,
    launch: null,
  }) as unknown as TaskRun;

describe('taskLog', () => {
  it(
    'writes one JSON record per step, each with app, identifier and task id, and ' + 'the duration at the end',
    async () => {
      const { lines, log, flushed } = capture('json');
      const taskLog = new TaskLog(log);
      taskLog.committed({ insertRuns: [run('t1')] });
      taskLog.committed({ updateRuns: [{ taskId: 't1', state: 'running', launch: 'launched' }] });
      taskLog.committed({ updateRuns: [{ taskId: 't1', startedAt: 2_000 }] });
      taskLog.committed({ updateRuns: [{ taskId: 't1', state: 'expired', expirationReason: 'timeLimit' }] });
      taskLog.committed({
        updateRuns: [{ taskId: 't1', state: 'finished', outcome: 'failure', reason: 'expired', completedAt: 2_750 }],
      });
      await flushed();
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(
        records.map((record) => [record.level, record.msg]),
        [
          [20, 'dispatched com.example.feeds.refresh of com.example.feeds'],
          [30, 'started com.example.feeds.refresh of com.example.feeds'],
          [30, 'expired com.example.feeds.refresh of com.example.feeds'],
          [30, 'finished com.example.feeds.refresh of com.example.feeds: failure'],
        ],
      );
      for (const record of records)
        assert.deepEqual(
          [record.appId, record.identifier, record.taskId],
          ['com.example.feeds', 'com.example.feeds.refresh', 't1'],
        );
      assert.equal(records[0]!.kind, 'refresh');
      assert.equal(records[1]!.launch, 'launched');
      assert.equal(records[2]!.expirationReason, 'timeLimit');
      assert.deepEqual([records[3]!.outcome, records[3]!.reason, records[3]!.durationMs], ['failure', 'expired', 750]);
    },
  );

  it('names a run recovered from an earlier daemon by its task id alone, and forgets finished tasks', async () => {
    const { lines, log, flushed } = capture('json', 'info');
    const taskLog = new TaskLog(log);
    taskLog.committed({
      updateRuns: [
        { taskId: 'old', state: 'finished', outcome: 'interrupted', reason: 'daemonStopped', completedAt: 5 },
      ],
    });
    taskLog.committed({
      insertRuns: [run('t2')],
      updateRuns: [{ taskId: 't2', state: 'finished', outcome: 'success', completedAt: 9 }],
    });
    taskLog.committed({ updateRuns: [{ taskId: 't2', state: 'finished', outcome: 'success', completedAt: 9 }] });
    await flushed();
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      records.map((record) => record.msg),
      [
        'finished task old: interrupted',
        'finished com.example.feeds.refresh of com.example.feeds: success',
        'finished task t2: success',
      ],
      'debug records are left out at info; a second finish of a forgotten task is named by its id',
    );
    assert.equal(records[0]!.appId, undefined);
    assert.equal(records[1]!.durationMs, undefined, 'no duration for a task that never started');
  });

  it('writes readable lines with the same fields in the pretty format', async () => {
    const { lines, log, flushed } = capture('pretty');
    new TaskLog(log).committed({
      insertRuns: [run('t3')],
      updateRuns: [{ taskId: 't3', state: 'running', launch: 'alreadyRunning' }],
    });
    await flushed();
    assert.equal(lines.length, 2);
    assert.match(
      lines[1]!,
      /^\d\d:\d\d:\d\d info {2}started com\.example\.feeds\.refresh of com\.example\.feeds {2}appId=com\.example\.feeds identifier=com\.example\.feeds\.refresh taskId=t3 launch=alreadyRunning$/,
    );
  });
});
