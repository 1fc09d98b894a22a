/**
 * An error from a scheduler operation requested by a client, with a stable code:
 *
 * | code         | when                                                        |
 * |--------------|-------------------------------------------------------------|
 * | `unknownApp` | the app id names no installed app                            |
 * | `notRunning` | `expire` named an identifier with no running task            |
 * | `notPending` | `run` could not find or make a request for the identifier   |
 * | SchedulerErrorCode | from a submission made on the client's behalf (`run`)  |
 */
export class SchedulerError extends Error {
  override readonly name = 'SchedulerError';
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
