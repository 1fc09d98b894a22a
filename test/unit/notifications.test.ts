import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotificationActionResponse } from '../../src/sdk/index.js';
import type { BGTaskScheduler } from '../../src/sdk/scheduler.js';
import { createTestSystem } from '../../src/testing/index.js';

const APP = 'com.example.backup';
const manifest = {
  appId: APP,
  launch: ['node', 'main.mjs'],
  permittedIdentifiers: [`${APP}.run`],
  backgroundModes: ['processing'] as 'processing'[],
};

describe('notifications (kit, virtual time)', () => {
  it(
    "posts only with the person's permission; a background task posts, the " +
      'person acts, the app is launched with the action',
    async () => {
      const posted: string[] = [];
      const refused: string[] = [];
      const statuses: string[] = [];
      const actions: (NotificationActionResponse & { launchReason: string })[] = [];
      await using system = await createTestSystem({
        apps: [
          {
            manifest,
            main: (scheduler: BGTaskScheduler) => {
              scheduler.notifications.onAction(
                (response) => void actions.push({ ...response, launchReason: scheduler.launchReason }),
              );
              scheduler.register(`${APP}.run`, async () => {
                statuses.push(await scheduler.notifications.requestAuthorization());
                try {
                  const { id } = await scheduler.notifications.post({
                    title: 'Backup finished',
                    body: '12 files',
                    threadId: 'com.example.backup.done',
                    actions: [
                      { id: 'open', title: 'Open' },
                      { id: 'later', title: 'Later' },
                    ],
                  });
                  posted.push(id);
                } catch (error) {
                  refused.push((error as { code: string }).code);
                }
              });
            },
          },
        ],
      });
      await system.simulateLaunch(APP, `${APP}.run`, 'processing');
      await system.runUntilIdle();
      assert.deepEqual(statuses, ['notDetermined']);
      assert.deepEqual(refused, ['notificationsNotAllowed']);

      await system.allowNotifications(APP);
      await system.simulateLaunch(APP, `${APP}.run`, 'processing');
      await system.runUntilIdle();
      assert.deepEqual(statuses, ['notDetermined', 'granted']);
      assert.equal(posted.length, 1);
      const [shown] = await system.notifications(APP);
      assert.equal(shown?.title, 'Backup finished');
      assert.deepEqual(
        shown?.actions.map((action) => action.id),
        ['open', 'later'],
      );

      // Let the background process go idle and exit: the action must launch the app.
      await system.advanceBy(10 * 60_000);
      assert.equal(system.scheduler.apps.get(APP)?.instances.size, 0);
      await system.chooseAction(posted[0]!, 'open');
      await system.runUntilIdle();
      assert.equal(actions.length, 1);
      assert.equal(actions[0]!.actionId, 'open');
      assert.equal(actions[0]!.notificationId, posted[0]);
      assert.equal(actions[0]!.launchReason, 'notificationAction');
      const [after] = await system.notifications(APP);
      assert.equal(after?.state, 'actioned');
      assert.notEqual(after?.handedAt, null);
      await assert.rejects(system.chooseAction(posted[0]!, 'open'), { code: 'alreadyAnswered' });
    },
  );

  it(
    'keeps an action as handed only when the handler is done with it: a process ' + 'that dies first gets it again',
    async () => {
      const seen: { actionId: string; pid: number }[] = [];
      let hang = true;
      let posted = '';
      await using system = await createTestSystem({
        apps: [
          {
            manifest,
            main: (scheduler: BGTaskScheduler) => {
              scheduler.notifications.onAction(async (response) => {
                seen.push({ actionId: response.actionId, pid: seen.length });
                if (hang) await new Promise(() => undefined); // the process dies before it is done
              });
              scheduler.register(`${APP}.run`, async () => {
                posted = (
                  await scheduler.notifications.post({ title: 'Done', actions: [{ id: 'open', title: 'Open' }] })
                ).id;
              });
            },
          },
        ],
      });
      await system.allowNotifications(APP);
      await system.simulateLaunch(APP, `${APP}.run`, 'processing');
      await system.runUntilIdle();
      await system.advanceBy(10 * 60_000);
      await system.chooseAction(posted, 'open');
      assert.deepEqual(
        seen.map((entry) => entry.actionId),
        ['open'],
      );
      assert.equal((await system.notifications(APP))[0]?.handedAt, null, 'not handed while the handler runs');
      await system.closeApp(APP);
      hang = false;
      await system.openApp(APP);
      await system.runUntilIdle();
      assert.deepEqual(
        seen.map((entry) => entry.actionId),
        ['open', 'open'],
        'handed again to the next process',
      );
      assert.notEqual((await system.notifications(APP))[0]?.handedAt, null);
    },
  );

  it('refuses a malformed notification with invalidRequest and the field', async () => {
    const errors: { code: string; field?: string }[] = [];
    await using system = await createTestSystem({
      apps: [
        {
          manifest,
          main: (scheduler: BGTaskScheduler) => {
            scheduler.register(`${APP}.run`, async () => {
              for (const content of [
                { title: '' },
                { title: 'ok', actions: [1, 2, 3, 4, 5].map((n) => ({ id: `a${n}`, title: `A${n}` })) },
              ]) {
                await scheduler.notifications
                  .post(content)
                  .catch((error: { code: string; field?: string }) =>
                    errors.push({ code: error.code, field: error.field }),
                  );
              }
            });
          },
        },
      ],
    });
    await system.allowNotifications(APP);
    await system.simulateLaunch(APP, `${APP}.run`, 'processing');
    await system.runUntilIdle();
    assert.deepEqual(errors, [
      { code: 'invalidRequest', field: 'title' },
      { code: 'invalidRequest', field: 'actions' },
    ]);
    assert.deepEqual(await system.notifications(APP), []);
  });
});
