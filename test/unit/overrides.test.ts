import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConditionsInputError, conditionOverridesSchema, parseConditionAssignments } from '../../src/conditions/overrides.js';

/** Asserts a ConditionsInputError with the given field whose message names every valid assignment. */
function assertInputError(args: string[], field: string | undefined, messagePart: RegExp): void {
  assert.throws(
    () => parseConditionAssignments(args),
    (error: unknown) => {
      assert.ok(error instanceof ConditionsInputError);
      assert.equal(error.code, 'invalidCondition');
      assert.equal(error.name, 'ConditionsInputError');
      assert.equal(error.field, field);
      assert.match(error.message, messagePart);
      assert.match(error.message, /power=ac\|battery, network=online\|offline, batteryLevel=0\.\.100/);
      return true;
    },
  );
}

describe('parseConditionAssignments', () => {
  it('parses every valid assignment', () => {
    assert.deepEqual(parseConditionAssignments(['power=battery', 'network=offline', 'batteryLevel=15']), {
      power: 'battery',
      network: 'offline',
      batteryLevel: 15,
    });
    assert.deepEqual(parseConditionAssignments(['power=ac', 'network=online']), { power: 'ac', network: 'online' });
    assert.deepEqual(parseConditionAssignments(['batteryLevel=0']), { batteryLevel: 0 });
    assert.deepEqual(parseConditionAssignments(['batteryLevel=100']), { batteryLevel: 100 });
  });

  it('returns an empty object for no arguments', () => {
    assert.deepEqual(parseConditionAssignments([]), {});
  });

  it('rejects an unknown name, including names found on Object.prototype', () => {
    assertInputError(['thermal=nominal'], 'thermal', /Unknown condition "thermal"/);
    assertInputError(['constructor=1'], 'constructor', /Unknown condition "constructor"/);
    assertInputError(['Power=ac'], 'Power', /Unknown condition "Power"/);
  });

  it('rejects an argument that is not name=value', () => {
    assertInputError(['power'], 'power', /Expected name=value, got "power"/);
    assertInputError(['=battery'], undefined, /Expected name=value, got "=battery"/);
    assertInputError([''], undefined, /Expected name=value/);
  });

  it('rejects a value the name does not take', () => {
    assertInputError(['power=unknown'], 'power', /Invalid value "unknown" for power: expected ac or battery/);
    assertInputError(['network=wifi'], 'network', /Invalid value "wifi" for network: expected online or offline/);
    assertInputError(['power='], 'power', /Invalid value "" for power/);
  });

  it('rejects a battery level that is not an integer from 0 to 100', () => {
    for (const value of ['101', '-1', '15.5', '1e1', '0x0f', '', 'abc', '1000']) {
      assertInputError([`batteryLevel=${value}`], 'batteryLevel', /expected an integer from 0 to 100/);
    }
  });

  it('rejects a name given twice', () => {
    assertInputError(['power=ac', 'power=battery'], 'power', /"power" is given more than once/);
  });
});

describe('conditionOverridesSchema', () => {
  it('accepts stored overrides, including none', () => {
    assert.deepEqual(conditionOverridesSchema.parse({}), {});
    assert.deepEqual(conditionOverridesSchema.parse({ power: 'battery', batteryLevel: 15 }), { power: 'battery', batteryLevel: 15 });
  });

  it('rejects unknown keys, unknown values and bad levels', () => {
    assert.equal(conditionOverridesSchema.safeParse({ power: 'battery', extra: 1 }).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ network: 'unknown' }).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ batteryLevel: 15.5 }).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ batteryLevel: '15' }).success, false);
    assert.equal(conditionOverridesSchema.safeParse(null).success, false);
  });
});
