// The testing kit under Vitest, as a user would write it: the feeds example, a virtual day.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestSystem } from 'bgtasks/testing';
import { REFRESH, startFeeds } from '../../examples/feeds/app.mjs';

const DIR = fileURLToPath(new URL('../../examples/feeds/', import.meta.url));
let system;
afterEach(() => system?.close());

describe('the testing kit under Vitest', () => {
  it('refreshes the feeds all day, and explains a refresh held by Low Power Mode', async () => {
    let refreshes = 0;
    system = await createTestSystem({
      apps: [
        {
          dir: DIR,
          main: (scheduler) =>
            startFeeds(scheduler, { intervalMs: 15 * 60_000, refresh: async () => void refreshes++ }),
        },
      ],
    });
    await system.openApp('com.example.feeds');
    await system.advanceBy(24 * 60 * 60_000);
    expect(refreshes).toBeGreaterThanOrEqual(90);
    await system.setConditions({ lowPowerMode: true });
    await system.advanceBy(30 * 60_000);
    const why = await system.why('com.example.feeds', REFRESH);
    expect(why.state).toBe('pending');
    expect(why.blockers[0].reason).toBe('lowPowerMode');
  });
});
