import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MisbehaviourRecorder } from '../../src/daemon/misbehaviour.js';
import { StoreWriter } from '../../src/daemon/storeWriter.js';
import { AppUsage } from '../../src/engine/appUsage.js';
import { openStore } from '../../src/store/index.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';

const APP = 'com.example.noisy';
const OPTIONS = { throttleMs: 15 * 60_000, throttleMaxMs: 4 * 3_600_000 };

describe('MisbehaviourRecorder', () => {
  it('records one offence per app and reason per minute, counts the repeats, and throttles the app', async () => {
    const clock = new VirtualClock();
    const store = openStore(':memory:');
    await store.migrate();
    const writer = new StoreWriter(store, { clock });
    const usage = new AppUsage();
    const warnings: string[] = [];
    const recorder = new MisbehaviourRecorder({
      clock,
      usage,
      writer,
      log: { info: () => undefined, warn: (message) => warnings.push(message), error: () => undefined },
      options: () => OPTIONS,
    });

    for (let i = 0; i < 100; i++) recorder.record(APP, 'socketFlood');
    recorder.record(APP, 'frameTooLarge');
    await writer.drain();
    const first = await store.listEvents({ appId: APP, types: ['throttled'] });
    assert.deepEqual(
      first.map((event) => event.reason).sort(),
      ['frameTooLarge', 'socketFlood'],
      'one per reason, not one per frame',
    );
    assert.equal(warnings.length, 2);
    assert.equal(
      usage.throttledUntil(APP, clock.now()),
      first.find((event) => event.reason === 'frameTooLarge')?.detail?.['until'],
      'the second offence of the day throttles longer',
    );

    await clock.advanceBy(60_000);
    recorder.record(APP, 'socketFlood');
    await writer.drain();
    const [latest] = await store.listEvents({ appId: APP, types: ['throttled'], limit: 1 });
    assert.equal(latest?.reason, 'socketFlood');
    assert.equal(latest?.detail?.['repeats'], 99, 'the repeats since the last record are counted');
    writer.dispose();
    await store.close();
  });
});
