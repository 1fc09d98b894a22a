// The mail client's background behaviour, apart from where it keeps its mail: main.mjs wires it to the
// real scheduler and a file; inbox.test.mjs to the testing kit and an in-memory mailbox.

/**
 * Registers the push and action handlers (at start-up, before any await). Each push is one new message:
 * the mailbox keeps it (once: a push delivered again after a crash has the same id), and the person is
 * told with a notification whose actions open or archive it. Opened by the person, the app asks once
 * for permission to post.
 *
 * @param {import('bgtasks').BGTaskScheduler} scheduler
 * @param {{ mailbox: { has(id: string): Promise<boolean>, add(id: string, message: object): Promise<void>, archive(id:
 * string): Promise<void> }, log?: (line: string) => void }} options
 */
export function startInbox(scheduler, { mailbox, log = () => {} }) {
  scheduler.onRemoteNotification(async (push, task) => {
    if (await mailbox.has(push.id)) return 'noData'; // a repeat of a push this app already kept
    const message = {
      from: String(push.data?.from ?? 'someone'),
      subject: String(push.data?.subject ?? '(no subject)'),
    };
    await mailbox.add(push.id, message);
    if (task.signal.aborted) return 'failed';
    try {
      await scheduler.notifications.post({
        title: `New mail from ${message.from}`,
        body: message.subject,
        threadId: 'com.example.inbox.mail',
        actions: [
          { id: 'open', title: 'Open' },
          { id: 'archive', title: 'Archive' },
        ],
      });
    } catch (error) {
      log(`could not notify: ${error.message}`); // not allowed yet: the mail is kept all the same
    }
    log(
      `kept a message from ${message.from} (push ${push.id}, attempt ` +
        `${push.attempt}${push.collapsedCount ? `, ${push.collapsedCount} collapsed` : ''})`,
    );
    return 'newData';
  });

  scheduler.notifications.onAction(async (response) => {
    log(`the person chose "${response.actionId}" on "${response.title}" (${scheduler.launchReason} launch)`);
    if (response.actionId === 'archive') await mailbox.archive(response.notificationId);
  });

  log(`inbox started (${scheduler.launchReason} launch)`);
  if (scheduler.launchReason !== 'user') return Promise.resolve();
  return scheduler.notifications.requestAuthorization().then((status) => {
    log(
      status === 'granted'
        ? 'notifications: allowed'
        : `notifications: ${status} (allow them in the dashboard or with \`bgtasks ` +
            `notifications allow com.example.inbox\`)`,
    );
  });
}
