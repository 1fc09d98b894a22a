import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readUntrustedFile, UntrustedFileError } from '../../src/shared/untrustedFile.js';

describe('readUntrustedFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-untrusted-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const refusal = (path: string, maxBytes = 1024): string => {
    try {
      readUntrustedFile(path, maxBytes);
    } catch (error) {
      assert.ok(error instanceof UntrustedFileError);
      assert.equal(error.path, path);
      return error.code;
    }
    assert.fail(`${path} was read`);
  };

  it('reads a regular file whole', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, '{"a":1}');
    assert.equal(readUntrustedFile(file, 1024), '{"a":1}');
  });

  it('follows a symlink to a regular file', () => {
    const target = join(dir, 'target.json');
    writeFileSync(target, 'x');
    symlinkSync(target, join(dir, 'link.json'));
    assert.equal(readUntrustedFile(join(dir, 'link.json'), 1024), 'x');
  });

  it('refuses a FIFO without waiting for a writer', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.equal(refusal(fifo), 'notRegularFile');
  });

  it('refuses a symlink to /dev/zero, a directory, and a missing file', () => {
    symlinkSync('/dev/zero', join(dir, 'zero'));
    assert.equal(refusal(join(dir, 'zero')), 'notRegularFile');
    assert.equal(refusal(dir), 'notRegularFile');
    assert.equal(refusal(join(dir, 'missing')), 'fileNotFound');
  });

  it('refuses a file over the limit', () => {
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(2048));
    assert.equal(refusal(big, 1024), 'fileTooLarge');
    assert.equal(readUntrustedFile(big, 2048).length, 2048);
  });
});
