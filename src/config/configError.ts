import { CliError } from '../shared/cliError.js';

/**
 * What is wrong with the configuration, from wherever it came:
 * - `configNotFound`: the file named by `--config` or `$BGTASKS_CONFIG` does not exist;
 * - `invalidConfig`: the file is not readable, or not JSON;
 * - `unknownOption`: a key the schema does not have (field: its path);
 * - `invalidOption`: a value of the wrong type or out of range (field: its path, or the environment
 *   variable that gave it).
 * Always a usage error (exit 2), like a bad argument: nothing has started or been touched.
 */
export type ConfigErrorCode = 'configNotFound' | 'invalidConfig' | 'unknownOption' | 'invalidOption';

export class ConfigError extends CliError {
  constructor(code: ConfigErrorCode, message: string, field?: string) {
    super(code, message, field);
  }

  override get exitCode(): number {
    return 2;
  }
}
