/**
 * A failure the `bgtasks` command reports and exits with:
 *
 * | code               | exit | when                                             |
 * |--------------------|------|--------------------------------------------------|
 * | `daemonNotRunning` | 3    | nothing answers on the socket                    |
 * | `invalidArgument`  | 2    | a command-line argument is malformed              |
 * | any daemon code    | 1    | the daemon refused (`unknownApp`, `notPermitted`, ...) |
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  get exitCode(): number {
    if (this.code === 'daemonNotRunning') return 3;
    if (this.code === 'invalidArgument' || this.code === 'invalidCondition') return 2;
    return 1;
  }
}
