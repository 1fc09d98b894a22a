/**
 * The daemon's book of prerequisites (src/daemon/workflows/prerequisiteBook.ts) stays bounded: it keeps
 * records only for what pending dependents name, however many identifiers were named over time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskRequest } from '../../src/engine/types.js';
import { PrerequisiteBook } from '../../src/daemon/workflows/prerequisiteBook.js';
import { SqliteStore } from '../../src/store/sqlite/sqliteStore.js';

const APP = 'com.example.chain';

describe('PrerequisiteBook', () => {
  it('drops the records no pending dependent names, and keeps those one does', async () => {
    await using store = SqliteStore.open({ file: ':memory:' });
    await store.migrate();
    const pending: TaskRequest[] = [
      { appId: APP, identifier: `${APP}.upload`, dependsOn: [`${APP}.kept`] } as unknown as TaskRequest,
    ];
    const book = new PrerequisiteBook({
      store,
      fleet: null,
      isPending: () => false,
      isRunning: () => false,
      pendingDependents: () => pending,
      changed: () => undefined,
      log: () => undefined,
    });
    book.watch(APP, `${APP}.kept`);
    for (let i = 0; i < 10_000; i++) book.watch(APP, `${APP}.step.${i}`);
    assert.ok(book.record(APP, `${APP}.kept`), 'a prerequisite a pending dependent names is kept');
    assert.equal(book.record(APP, `${APP}.step.0`), undefined, 'one no pending dependent names is dropped');
    let kept = 0;
    for (let i = 0; i < 10_000; i++) if (book.record(APP, `${APP}.step.${i}`)) kept++;
    assert.ok(kept < 2_048, `the book stays bounded: ${kept} of 10,000 records kept`);
  });
});
