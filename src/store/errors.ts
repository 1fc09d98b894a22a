/**
 * Errors a store raises. Each has a stable `code`:
 *
 * | code            | when                                                                |
 * |-----------------|---------------------------------------------------------------------|
 * | `storeFull`     | the disk or the database is full; the write was rolled back          |
 * | `storeReadOnly` | the store file or database cannot be written; the write was rolled back |
 * | `storeBusy`     | another process holds a lock for longer than the busy timeout       |
 * | `storeCorrupt`  | the file is not a database, or is damaged                            |
 * | `storeClosed`   | the store was used after `close()`                                   |
 * | `storeNewer`    | the schema was written by a newer bgtasks than this one              |
 * | `storeInvalid`  | a value to write did not pass the store's schema                     |
 * | `storeFailed`   | anything else; `cause` has the driver's error                        |
 */
export type StoreErrorCode =
  | 'storeFull'
  | 'storeReadOnly'
  | 'storeBusy'
  | 'storeCorrupt'
  | 'storeClosed'
  | 'storeNewer'
  | 'storeInvalid'
  | 'storeFailed';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown; field?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
  }
  readonly field: string | undefined;
}
