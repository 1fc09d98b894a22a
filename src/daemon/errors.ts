/**
 * An error the daemon returns to a client (an app or the `bgtasks` command), with a stable code and,
 * where one argument is at fault, its name:
 *
 * | code               | when                                                              |
 * |--------------------|-------------------------------------------------------------------|
 * | `unknownApp`       | the app id names no installed app                                  |
 * | `appIdTaken`       | `install` of an app id already installed from another directory    |
 * | `notRunning`       | `expire` named an identifier with no running task                  |
 * | `notPending`       | `run` could not find or make a request for the identifier (its kind unknown: `--kind`) |
 * | `wrongKind`        | `run --kind` names another kind than the pending request or the last run |
 * | `unknownCommand`   | a control frame names no command                                   |
 * | `invalidArgument`  | a control command's argument fails its schema                      |
 * | `notFleet`         | a `fleet.*` command, on a daemon whose store no fleet shares (SQLite) |
 * | a SchedulerErrorCode | from a submission made on the client's behalf (`run`)            |
 */
export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
