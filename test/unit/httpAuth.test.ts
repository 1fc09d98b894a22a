import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostAllowed, originAllowed, sameToken } from '../../src/daemon/http/auth.js';

describe('hostAllowed (DNS rebinding)', () => {
  it('answers to 127.0.0.1 and localhost on our port, and to nothing else by default', () => {
    assert.equal(hostAllowed('127.0.0.1:8080', 8080), true);
    assert.equal(hostAllowed('localhost', 8080), true);
    assert.equal(hostAllowed('LOCALHOST:8080', 8080), true);
    assert.equal(hostAllowed('localhost:8081', 8080), false, 'another port');
    assert.equal(hostAllowed('evil.example:8080', 8080), false, 'a name made to resolve to 127.0.0.1');
    assert.equal(hostAllowed('192.168.1.5:8080', 8080), false, 'not bound there');
    assert.equal(hostAllowed(undefined, 8080), false);
  });

  it('answers to the addresses it was told to listen on (--http-host), IPv6 in brackets, never to a name', () => {
    assert.equal(hostAllowed('192.168.1.5:8080', 8080, ['192.168.1.5']), true);
    assert.equal(hostAllowed('[fe80::1]:8080', 8080, ['fe80::1']), true);
    assert.equal(hostAllowed('[::1]:8080', 8080, ['::1']), true);
    assert.equal(hostAllowed('evil.example:8080', 8080, ['192.168.1.5']), false);
  });
});

describe('originAllowed (cross-site requests)', () => {
  it('accepts no Origin (not a browser) and our own, refuses another site or port', () => {
    assert.equal(originAllowed(undefined, 8080), true);
    assert.equal(originAllowed('http://127.0.0.1:8080', 8080), true);
    assert.equal(originAllowed('http://localhost:3000', 8080), false, 'a dev server on this machine is another origin');
    assert.equal(originAllowed('https://evil.example', 8080), false);
    assert.equal(originAllowed('http://192.168.1.5:8080', 8080, ['192.168.1.5']), true);
    assert.equal(originAllowed('null', 8080), false);
  });
});

describe('sameToken', () => {
  it('compares whatever the lengths, without throwing', () => {
    assert.equal(sameToken('abc', 'abc'), true);
    assert.equal(sameToken('abc', 'abcd'), false);
    assert.equal(sameToken('', 'abc'), false);
  });
});
