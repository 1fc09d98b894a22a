import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Why a file someone else controls (an app's package.json, the config file, a token file) was not read:
 *
 * | code              | when                                                              |
 * |-------------------|-------------------------------------------------------------------|
 * | `fileNotFound`    | nothing is at the path (or a symlink points nowhere)               |
 * | `notRegularFile`  | a directory, FIFO, socket or device (`/dev/zero`) is at the path     |
 * | `fileTooLarge`    | the file is larger than the reader's limit (checked while reading too) |
 * | `fileUnreadable`  | any other error (permissions, I/O)                                  |
 */
export class UntrustedFileError extends Error {
  override readonly name = 'UntrustedFileError';
  constructor(
    readonly code: 'fileNotFound' | 'notRegularFile' | 'fileTooLarge' | 'fileUnreadable',
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/**
 * Reads a file that a local user or an app controls, without letting it block or bloat the daemon.
 *
 * - Only a regular file is read: a FIFO would block `read` until someone writes to it (the daemon's
 *   whole event loop with it), and a device such as `/dev/zero` never ends.
 * - It is opened with O_NONBLOCK (opening a FIFO for reading otherwise waits for a writer, and the path
 *   may be swapped for one between the first check and the open), and then checked again on the open
 *   descriptor, which is what is read.
 * - At most `maxBytes` are read, whatever the file claims its size is (it may grow while read).
 *
 * Synchronous on purpose: the callers are synchronous, and a regular file of at most `maxBytes` costs a
 * few reads from the page cache.
 *
 * @throws UntrustedFileError naming the path
 */
export function readUntrustedFile(path: string, maxBytes: number): string {
  let fd: number;
  try {
    checkRegular(path, statSync(path), maxBytes);
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw toUntrustedFileError(error, path);
  }
  try {
    checkRegular(path, fstatSync(fd), maxBytes);
    return readAtMost(fd, path, maxBytes).toString('utf8');
  } catch (error) {
    throw toUntrustedFileError(error, path);
  } finally {
    closeSync(fd);
  }
}

function checkRegular(path: string, stats: { isFile(): boolean; size: number }, maxBytes: number): void {
  if (!stats.isFile()) {
    const message = `${path} is not a regular file (a directory, FIFO, socket or device); only regular files are read`;
    throw new UntrustedFileError('notRegularFile', message, path);
  }
  if (stats.size > maxBytes) {
    throw new UntrustedFileError('fileTooLarge', `${path} is ${stats.size} bytes; at most ${maxBytes} are read`, path);
  }
}

/** One byte over the limit is asked for, so a file that grew after the check is caught. */
function readAtMost(fd: number, path: string, maxBytes: number): Buffer {
  const buffer = Buffer.alloc(maxBytes + 1);
  let length = 0;
  for (;;) {
    const read = readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) break;
    length += read;
    if (length > maxBytes) {
      throw new UntrustedFileError('fileTooLarge', `${path} grew past ${maxBytes} bytes while it was read`, path);
    }
  }
  return buffer.subarray(0, length);
}

function toUntrustedFileError(error: unknown, path: string): UntrustedFileError {
  if (error instanceof UntrustedFileError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new UntrustedFileError('fileNotFound', `${path} does not exist`, path);
  }
  return new UntrustedFileError('fileUnreadable', `cannot read ${path}: ${(error as Error).message}`, path);
}

/** A token, credential, node id or dashboard file is under a hundred bytes; a KB is generous. */
export const MAX_TOKEN_FILE_BYTES = 4096;

/** The config file: a few KB of JSON; 1 MiB is far beyond any real one. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
