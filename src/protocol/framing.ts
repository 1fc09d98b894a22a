/**
 * NDJSON framing: one JSON value per line. The decoder keeps at most `maxFrameBytes` of an unfinished
 * line, so a peer that never sends a newline cannot make us buffer without bound.
 */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
  readonly code = 'frameTooLarge';
  constructor(readonly limit: number) {
    super(`a frame is longer than the limit of ${limit} bytes`);
  }
}

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /**
   * Feeds bytes; returns the complete lines (without the newline), as strings. Throws
   * {@link FrameTooLargeError} when a line grows past the limit.
   */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, newline);
      this.#check(this.#pendingBytes + part.length);
      if (this.#pending.length > 0) {
        this.#pending.push(part);
        lines.push(Buffer.concat(this.#pending).toString('utf8'));
        this.#pending = [];
        this.#pendingBytes = 0;
      } else {
        lines.push(part.toString('utf8'));
      }
      start = newline + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#check(this.#pendingBytes + rest.length);
      this.#pending.push(Buffer.from(rest));
      this.#pendingBytes += rest.length;
    }
    return lines;
  }

  #check(size: number): void {
    if (size > this.#maxFrameBytes) throw new FrameTooLargeError(this.#maxFrameBytes);
  }
}

export function encodeFrame(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}
