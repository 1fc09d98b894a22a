import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { encodeMessage, encodePathLabel } from '../../src/conditions/dbusEncode.js';
import {
  decodeMessage,
  MAX_MESSAGE_BYTES,
  messageLength,
  MessageType,
  splitSignature,
} from '../../src/conditions/dbusWire.js';

/**
 * A `PropertiesChanged` signal as sd-bus marshals it (little-endian), built by hand from the spec so
 * the decoder is checked against bytes it did not write: body `sa{sv}as` =
 * ("org.freedesktop.login1.Session", {IdleHint: <true>, IdleSinceHint: <uint64 1767225600123456>}, ["LockedHint"]).
 */
function handBuiltSignal(): Buffer {
  const parts: number[] = [];
  const pad = (to: number) => {
    while (parts.length % to !== 0) parts.push(0);
  };
  const le32 = (value: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    return [...b];
  };
  const u32 = (value: number) => {
    pad(4);
    parts.push(...le32(value));
  };
  const str = (value: string) => {
    u32(Buffer.byteLength(value));
    parts.push(...Buffer.from(value), 0);
  };
  const sig = (value: string) => parts.push(value.length, ...Buffer.from(value), 0);
  const field = (code: number, type: string, write: () => void) => {
    pad(8);
    parts.push(code);
    sig(type);
    write();
  };

  // Body first, to know its length (offsets are relative to the body start, which is 8-aligned).
  str('org.freedesktop.login1.Session');
  u32(0); // dict byte length, patched below
  const dictLengthAt = parts.length - 4;
  pad(8);
  const dictStart = parts.length;
  pad(8);
  str('IdleHint');
  sig('b');
  u32(1);
  pad(8);
  str('IdleSinceHint');
  sig('t');
  pad(8);
  const t = Buffer.alloc(8);
  t.writeBigUInt64LE(1767225600123456n);
  parts.push(...t);
  const dictLength = parts.length - dictStart;
  parts.splice(dictLengthAt, 4, ...le32(dictLength));
  u32(0);
  const arrayLengthAt = parts.length - 4;
  const arrayStart = parts.length;
  str('LockedHint');
  const arrayLength = parts.length - arrayStart;
  parts.splice(arrayLengthAt, 4, ...le32(arrayLength));
  const body = Buffer.from(parts);

  parts.length = 0;
  parts.push(0x6c, MessageType.signal, 1, 1);
  u32(body.length);
  u32(7);
  u32(0);
  const fieldsStart = parts.length;
  field(1, 'o', () => str('/org/freedesktop/login1/session/_32'));
  field(2, 's', () => str('org.freedesktop.DBus.Properties'));
  field(3, 's', () => str('PropertiesChanged'));
  field(8, 'g', () => sig('sa{sv}as'));
  field(7, 's', () => str(':1.4'));
  const fieldsLength = parts.length - fieldsStart;
  pad(8);
  const header = Buffer.from(parts);
  header.writeUInt32LE(fieldsLength, 12);
  return Buffer.concat([header, body]);
}

describe('splitSignature', () => {
  it('splits into complete types', () => {
    assert.deepEqual(splitSignature('sa{sv}as'), ['s', 'a{sv}', 'as']);
    assert.deepEqual(splitSignature('(ya(ii))aai'), ['(ya(ii))', 'aai']);
    assert.deepEqual(splitSignature(''), []);
  });

  it('rejects truncated and unbalanced signatures', () => {
    assert.throws(() => splitSignature('a'), SyntaxError);
    assert.throws(() => splitSignature('(ss'), SyntaxError);
  });
});

describe('decodeMessage', () => {
  it('decodes a signal marshalled by hand from the spec', () => {
    const bytes = handBuiltSignal();
    assert.equal(messageLength(bytes), bytes.length);
    const message = decodeMessage(bytes);
    assert.equal(message.type, MessageType.signal);
    assert.equal(message.serial, 7);
    assert.equal(message.path, '/org/freedesktop/login1/session/_32');
    assert.equal(message.interface, 'org.freedesktop.DBus.Properties');
    assert.equal(message.member, 'PropertiesChanged');
    assert.equal(message.sender, ':1.4');
    assert.equal(message.signature, 'sa{sv}as');
    assert.equal(message.body[0], 'org.freedesktop.login1.Session');
    assert.deepEqual(
      message.body[1],
      new Map<string, unknown>([
        ['IdleHint', true],
        ['IdleSinceHint', 1767225600123456],
      ]),
    );
    assert.deepEqual(message.body[2], ['LockedHint']);
  });

  it('reports undefined length until 16 bytes are in, and rejects non-D-Bus streams and oversize messages', () => {
    assert.equal(messageLength(Buffer.alloc(15)), undefined);
    assert.throws(() => messageLength(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), SyntaxError);
    const huge = Buffer.alloc(16);
    huge[0] = 0x6c;
    huge.writeUInt32LE(MAX_MESSAGE_BYTES, 4);
    assert.throws(() => messageLength(huge), RangeError);
  });

  it('throws on a truncated body instead of reading past it', () => {
    const bytes = handBuiltSignal();
    assert.throws(() => decodeMessage(bytes.subarray(0, bytes.length - 8)));
  });
});

describe('encodeMessage', () => {
  it('round-trips a method call through the decoder', () => {
    const bytes = encodeMessage({
      type: MessageType.methodCall,
      flags: 2,
      serial: 42,
      destination: 'org.freedesktop.login1',
      path: '/org/freedesktop/login1/session/_32',
      interface: 'org.freedesktop.DBus.Properties',
      member: 'Get',
      signature: 'ss',
      body: ['org.freedesktop.login1.Session', 'IdleHint'],
    });
    assert.equal(messageLength(bytes), bytes.length);
    const message = decodeMessage(bytes);
    assert.equal(message.type, MessageType.methodCall);
    assert.equal(message.flags, 2);
    assert.equal(message.serial, 42);
    assert.equal(message.destination, 'org.freedesktop.login1');
    assert.equal(message.member, 'Get');
    assert.deepEqual(message.body, ['org.freedesktop.login1.Session', 'IdleHint']);
  });

  it('encodes an error reply with its reply serial, and a call with no body', () => {
    const error = decodeMessage(
      encodeMessage({
        type: MessageType.error,
        serial: 3,
        replySerial: 9,
        destination: ':1.7',
        errorName: 'org.example.Error',
        signature: 's',
        body: ['nope'],
      }),
    );
    assert.equal(error.replySerial, 9);
    assert.equal(error.errorName, 'org.example.Error');
    assert.deepEqual(error.body, ['nope']);
    const hello = decodeMessage(
      encodeMessage({ type: MessageType.methodCall, serial: 1, path: '/org/freedesktop/DBus', member: 'Hello' }),
    );
    assert.equal(hello.signature, '');
    assert.deepEqual(hello.body, []);
  });

  it('refuses types it cannot encode', () => {
    // A Unix file descriptor travels out of band (SCM_RIGHTS), which a socket write cannot carry.
    assert.throws(
      () => encodeMessage({ type: MessageType.methodCall, serial: 1, signature: 'h', body: [3] }),
      TypeError,
    );
  });
});

describe('encodePathLabel', () => {
  it('escapes like sd_bus_path_encode: a leading digit and every non-alphanumeric byte', () => {
    assert.equal(encodePathLabel('2'), '_32');
    assert.equal(encodePathLabel('c1'), 'c1');
    assert.equal(encodePathLabel('12'), '_312');
    assert.equal(encodePathLabel('a-b.c'), 'a_2db_2ec');
    assert.equal(encodePathLabel(''), '_');
  });
});
