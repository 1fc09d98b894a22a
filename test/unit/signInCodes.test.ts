import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SIGN_IN_CODE_TTL_MS, SignInCodes } from '../../src/daemon/http/signInCodes.js';

describe('SignInCodes', () => {
  it('a code works once', () => {
    const codes = new SignInCodes(() => 0);
    const { code } = codes.mint();
    assert.equal(codes.redeem(code), true);
    assert.equal(codes.redeem(code), false);
  });

  it('a code expires', () => {
    let now = 1_000;
    const codes = new SignInCodes(() => now);
    const { code, expiresInMs } = codes.mint();
    assert.equal(expiresInMs, SIGN_IN_CODE_TTL_MS);
    now += SIGN_IN_CODE_TTL_MS;
    assert.equal(codes.redeem(code), false);
  });

  it('refuses a code it never made, and keeps at most 8 waiting', () => {
    const codes = new SignInCodes(() => 0);
    const first = codes.mint().code;
    assert.equal(codes.redeem(`${first}x`), false);
    for (let i = 0; i < 8; i++) codes.mint();
    assert.equal(codes.redeem(first), false, 'the oldest was dropped to make room');
  });
});
