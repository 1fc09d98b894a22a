// The export example in virtual time: a continued task with progress, or the foreground fallback.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTestSystem } from 'bgtasks/testing';
import { startExport } from './app.mjs';

const APP = 'com.example.export';
const DIR = fileURLToPath(new URL('.', import.meta.url));

describe('export', () => {
  it('exports in the background as a continued task, with its title updated per chunk', async (t) => {
    const written = [];
    const system = await createTestSystem({
      apps: [
        {
          dir: DIR,
          main: (scheduler) =>
            startExport(scheduler, { name: 'film', chunks: 5, writeChunk: async (index) => void written.push(index) }),
        },
      ],
    });
    t.after(() => system.close());
    await system.openApp(APP);
    const run = await system.next('completed', 'com.example.export.film');
    assert.equal(run.outcome, 'success');
    assert.deepEqual(written, [0, 1, 2, 3, 4]);
    assert.equal(run.continued.subtitle, 'film.bin (5 of 5 MiB)');
  });

  it(
    'falls back to the foreground, with a warning, when the system cannot start ' + 'it now (immediateRunIneligible)',
    async (t) => {
      const lines = [];
      const results = [];
      const system = await createTestSystem({
        apps: [
          {
            dir: DIR,
            main: (scheduler) =>
              startExport(scheduler, {
                name: 'big',
                chunks: 3,
                writeChunk: async () => {},
                log: (line) => lines.push(line),
              }).then((how) => results.push(how)),
          },
        ],
        conditions: { thermalState: 'critical' }, // the machine is too hot to start anything now
      });
      t.after(() => system.close());
      await system.openApp(APP);
      assert.deepEqual(results, ['foreground']);
      assert.ok(lines.some((line) => /warning: the system cannot start the export now/.test(line)));
    },
  );
});
