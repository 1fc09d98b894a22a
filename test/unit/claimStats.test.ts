import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderNodes } from '../../src/cli/commands/nodes.js';
import { ClaimStats } from '../../src/daemon/fleet/claimStats.js';
import { request } from './store.contract.js';

describe("ClaimStats: a node's claim rate and lag", () => {
  it('counts the last minute and averages how long the claimed requests had been due', () => {
    const stats = new ClaimStats();
    assert.deepEqual(stats.lastMinute(0), { claimsPerMinute: 0, claimLagMs: null });
    // Due at submission (1,000) or at their earliest begin date (5,000), claimed at wall time 6,000.
    stats.record(
      [request({ submittedAt: 1_000 }), request({ submittedAt: 1_000, earliestBeginAt: 5_000 })],
      10_000,
      6_000,
    );
    stats.record([request({ submittedAt: 5_500 })], 40_000, 6_000);
    assert.deepEqual(stats.lastMinute(40_000), {
      claimsPerMinute: 3,
      claimLagMs: Math.round((5_000 + 1_000 + 500) / 3),
    });
    // A minute after the first claims only the later one counts; the total keeps all.
    assert.deepEqual(stats.lastMinute(70_000), { claimsPerMinute: 1, claimLagMs: 500 });
    assert.equal(stats.total, 3);
    assert.deepEqual(stats.lastMinute(200_000), { claimsPerMinute: 0, claimLagMs: null });
  });

  it('shows in `bgtasks nodes` (a node that does not report it shows "-")', () => {
    const node = (nodeId: string, capacity: object) => ({
      nodeId,
      hostname: 'h',
      state: 'alive',
      self: false,
      heartbeatAgeMs: 1_000,
      stoppedAt: null,
      version: '0.1.0',
      apps: [],
      conditions: null,
      capacity: { running: 1, maxConcurrentTasks: 4, ...capacity },
    });
    const text = renderNodes([node('node-1', { claimsPerMinute: 120, claimLagMs: 35 }), node('node-2', {})]);
    assert.match(text, /CLAIMS\/MIN\s+LAG/i);
    assert.match(text, /node-1 .* 120\s+35ms /);
    assert.match(text, /node-2 .* -\s+- /);
  });
});
