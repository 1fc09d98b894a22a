/**
 * A failure of `bgtasks service`, with a stable code and, where one input is at fault, its name. The
 * command turns it into a `CliError` with the same code (exit 2 for `invalidArgument`, 1 otherwise):
 *
 * | code                        | when                                                                       |
 * |-----------------------------|----------------------------------------------------------------------------|
 * | `invalidArgument`           | an option is malformed or contradicts another (`--user` without `--system`) |
 * | `unsupportedPlatform`       | neither Linux (systemd) nor macOS (launchd)                                |
 * | `unsupportedPath`           | a path the service file would hold cannot be written there (systemd refuses quotes
 * and backslashes in the executable's path; no file may hold control characters) |
 * | `permissionDenied`          | the service file's directory is not writable (a `--system` install without sudo) |
 * | `serviceManagerUnavailable` | the file is written but systemd/launchd cannot be reached to start it       |
 * | `serviceCommandFailed`      | systemctl/launchctl ran and failed                                          |
 * | `serviceNotInstalled`       | `start`, `stop` or `restart` with no service file installed                 |
 */
export type ServiceErrorCode =
  | 'invalidArgument'
  | 'unsupportedPlatform'
  | 'unsupportedPath'
  | 'permissionDenied'
  | 'serviceManagerUnavailable'
  | 'serviceCommandFailed'
  | 'serviceNotInstalled';

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
