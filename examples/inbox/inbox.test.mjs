// The mail client in virtual time: pushes become kept messages and notifications; an action reaches it.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTestSystem } from 'bgtasks/testing';
import { startInbox } from './app.mjs';

const APP = 'com.example.inbox';
const DIR = fileURLToPath(new URL('.', import.meta.url));

function memoryMailbox() {
  const messages = new Map();
  const archived = [];
  return {
    messages,
    archived,
    has: async (id) => messages.has(id),
    add: async (id, message) => void messages.set(id, message),
    archive: async (id) => void archived.push(id),
  };
}

describe('inbox', () => {
  it('keeps every pushed message, in order, announces it, and archives it when the person says so', async (t) => {
    const mailbox = memoryMailbox();
    const lines = [];
    const system = await createTestSystem({
      apps: [{ dir: DIR, main: (scheduler) => startInbox(scheduler, { mailbox, log: (line) => lines.push(line) }) }],
    });
    t.after(() => system.close());
    await system.openApp(APP);
    await system.allowNotifications(APP);
    await system.closeApp(APP);
    await system.push(APP, { from: 'Ana', subject: 'Lunch?' });
    await system.push(APP, { from: 'Bo', subject: 'Report' });
    await system.runUntilIdle();
    assert.deepEqual(
      [...mailbox.messages.values()].map((message) => message.from),
      ['Ana', 'Bo'],
    );
    const [latest] = await system.notifications(APP);
    assert.equal(latest.title, 'New mail from Bo');
    await system.advanceBy(10 * 60_000); // the background launch goes idle and exits
    await system.chooseAction(latest.notificationId, 'archive');
    await system.runUntilIdle();
    assert.deepEqual(mailbox.archived, [latest.notificationId]);
    assert.ok(
      lines.includes('the person chose "archive" on "New mail from Bo" (notificationAction launch)'),
      lines.join('\n'),
    );
  });
});
