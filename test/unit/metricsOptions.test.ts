import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileDaemonOptions, type DaemonOptions } from '../../src/daemon/options.js';

/** The daemon's `metrics` option (compileDaemonOptions): default on, validated naming the option. */
describe('compileDaemonOptions metrics', () => {
  const compile = (metrics: unknown) =>
    compileDaemonOptions({ home: '/tmp/bgt-options', metrics } as DaemonOptions, {});

  it('defaults to enabled, and takes enabled: false', () => {
    assert.deepEqual(compileDaemonOptions({ home: '/tmp/bgt-options' }, {}).metrics, { enabled: true });
    assert.deepEqual(compile({}).metrics, { enabled: true });
    assert.deepEqual(compile({ enabled: false }).metrics, { enabled: false });
  });

  it('refuses a value of the wrong type or an unknown option, naming it', () => {
    assert.throws(() => compile({ enabled: 'no' }), {
      name: 'TypeError',
      message: /`metrics\.enabled` to be true or false/,
    });
    assert.throws(() => compile({ enable: false }), {
      name: 'TypeError',
      message: /Unknown metrics option `metrics\.enable`/,
    });
    assert.throws(() => compile(true), { name: 'TypeError', message: /`metrics` to be an object/ });
    assert.throws(() => compile(null), { name: 'TypeError', message: /`metrics` to be an object/ });
  });
});
