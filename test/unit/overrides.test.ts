import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  ConditionsInputError,
  conditionOverridesSchema,
  parseConditionAssignments,
} from '../../src/conditions/overrides.js';

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

  it('parses the power saver as on or off', () => {
    assert.deepEqual(parseConditionAssignments(['lowPowerMode=on']), { lowPowerMode: true });
    assert.deepEqual(parseConditionAssignments(['lowPowerMode=off']), { lowPowerMode: false });
  });

  it('parses the network cost', () => {
    assert.deepEqual(parseConditionAssignments(['networkCost=metered', 'network=online']), {
      networkCost: 'metered',
      network: 'online',
    });
    assert.deepEqual(parseConditionAssignments(['networkCost=unmetered']), { networkCost: 'unmetered' });
  });

  it('parses the user activity, with idleSince null ("idle long enough" for idle)', () => {
    assert.deepEqual(parseConditionAssignments(['userActivity=idle']), { userActivity: 'idle', idleSince: null });
    assert.deepEqual(parseConditionAssignments(['userActivity=active']), { userActivity: 'active', idleSince: null });
    assert.deepEqual(parseConditionAssignments(['userActivity=noSeat']), { userActivity: 'noSeat', idleSince: null });
  });

  it('parses the thermal state and each pressure as a load level', () => {
    assert.deepEqual(
      parseConditionAssignments([
        'thermalState=serious',
        'cpuPressure=nominal',
        'memoryPressure=critical',
        'ioPressure=fair',
      ]),
      {
        thermalState: 'serious',
        cpuPressure: 'nominal',
        memoryPressure: 'critical',
        ioPressure: 'fair',
      },
    );
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

  it('rejects values the new conditions do not take, naming what they do', () => {
    assertInputError(
      ['lowPowerMode=true'],
      'lowPowerMode',
      /Invalid value "true" for lowPowerMode: expected on or off/,
    );
    assertInputError(['lowPowerMode=1'], 'lowPowerMode', /expected on or off/);
    assertInputError(['networkCost=unknown'], 'networkCost', /expected metered or unmetered/);
    assertInputError(['userActivity=away'], 'userActivity', /expected active, idle or noSeat/);
    assertInputError(['userActivity=unknown'], 'userActivity', /expected active, idle or noSeat/);
    for (const name of ['thermalState', 'cpuPressure', 'memoryPressure', 'ioPressure']) {
      assertInputError([`${name}=hot`], name, /expected nominal, fair, serious or critical/);
      assertInputError([`${name}=unknown`], name, /expected nominal, fair, serious or critical/);
    }
  });

  it('does not take idleSince on its own: it follows userActivity', () => {
    assertInputError(['idleSince=0'], 'idleSince', /Unknown condition "idleSince"/);
  });

  it('lists every valid assignment in its errors', () => {
    assert.throws(
      () => parseConditionAssignments(['nope=1']),
      (error: Error) => {
        for (const part of [
          'lowPowerMode=on|off',
          'networkCost=metered|unmetered',
          'userActivity=active|idle|noSeat',
          'thermalState|cpuPressure|memoryPressure|ioPressure=nominal|fair|serious|critical',
        ]) {
          assert.ok(error.message.includes(part), part);
        }
        return true;
      },
    );
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
    assert.deepEqual(conditionOverridesSchema.parse({ power: 'battery', batteryLevel: 15 }), {
      power: 'battery',
      batteryLevel: 15,
    });
  });

  it('round-trips what parseConditionAssignments produces, as JSON storage does', () => {
    const overrides = parseConditionAssignments([
      'lowPowerMode=on',
      'userActivity=idle',
      'networkCost=metered',
      'thermalState=critical',
      'ioPressure=serious',
    ]);
    assert.deepEqual(conditionOverridesSchema.parse(JSON.parse(JSON.stringify(overrides))), overrides);
  });

  it('rejects unknown keys, unknown values and bad levels', () => {
    assert.equal(conditionOverridesSchema.safeParse({ power: 'battery', extra: 1 }).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ network: 'unknown' }).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ batteryLevel: 15.5 }).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ batteryLevel: '15' }).success, false);
    assert.equal(conditionOverridesSchema.safeParse(null).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ lowPowerMode: 'on' }).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ idleSince: 5 }).success, false);
    assert.equal(conditionOverridesSchema.safeParse({ thermalState: 'unknown' }).success, false);
  });
});
