// A weekday backup at 03:00 in the device's time zone: one calendar request, submitted once. The system
// resubmits it for each occurrence; a night the machine slept through is recorded as skipped.
import { BGProcessingTaskRequest } from 'bgtasks';

export const BACKUP = 'com.example.nightly.backup';

export function startNightly(scheduler, { backup, timeZone = null }) {
  scheduler.register(BACKUP, async (task) => {
    await backup({ signal: task.signal });
  });
  if (scheduler.launchReason !== 'user') return undefined;
  const request = new BGProcessingTaskRequest(BACKUP);
  request.calendar = 'Mon..Fri *-*-* 03:00:00'; // systemd's OnCalendar; '0 3 * * 1-5' (cron) means the same
  request.timeZone = timeZone;
  return scheduler.submit(request);
}
