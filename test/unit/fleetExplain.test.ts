import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  explainFleetRequest,
  isNodeLive,
  judgeNode,
  type ExplainFleetRequest,
  type ExplainNode,
  type ExplainRun,
} from '../../src/engine/fleetExplain.js';
import type { TaskRequest, TaskRun } from '../../src/engine/types.js';
import type { FleetRequest, FleetRun, NodeInfo } from '../../src/store/fleet.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const APP = 'com.example.app';

function request(fields: Partial<TaskRequest> = {}): TaskRequest {
  return {
    requestId: 'r1',
    appId: APP,
    identifier: `${APP}.sync`,
    kind: 'refresh',
    earliestBeginAt: null,
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: null,
    submittedAt: NOW - 60_000,
    placement: 'any',
    ...fields,
  };
}

function node(nodeId: string, fields: Partial<NodeInfo> = {}): NodeInfo {
  return {
    nodeId,
    hostname: `${nodeId}.local`,
    epoch: 1,
    version: '0.1.0',
    startedAt: NOW - 3_600_000,
    heartbeatAt: NOW - 5_000,
    leaseExpiresAt: NOW + 25_000,
    stoppedAt: null,
    conditions: { online: true, unmetered: true, externalPower: true, lowPowerMode: false, thermal: 'nominal' },
    apps: [{ appId: APP, enabled: true }],
    capacity: { maxConcurrentTasks: 4, running: 0 },
    ...fields,
  };
}

function pool(fields: Partial<TaskRequest> = {}, heldBy: string | null = null): FleetRequest {
  return { request: request(fields), nodeId: null, heldBy };
}

// The store's records fit the engine's inputs as they are.
const _fits: [ExplainNode, ExplainFleetRequest, ExplainRun] = [
  node('a'),
  pool(),
  { run: {} as TaskRun, nodeId: 'a' } satisfies FleetRun,
];
void _fits;

describe('judgeNode', () => {
  const cases: [string, Partial<NodeInfo>, Partial<TaskRequest>, string][] = [
    ['a live node with the app', {}, {}, 'eligible'],
    ['a node that left', { stoppedAt: NOW - 1000, leaseExpiresAt: NOW - 1000 }, {}, 'nodeStopped'],
    ['a node whose lease expired', { heartbeatAt: NOW - 300_000, leaseExpiresAt: NOW - 1 }, {}, 'nodeLost'],
    ['a node without the app', { apps: [{ appId: 'com.other', enabled: true }] }, {}, 'appNotInstalled'],
    ['a node where the app is disabled', { apps: [{ appId: APP, enabled: false }] }, {}, 'appDisabled'],
    [
      'an offline node, for a network request',
      { conditions: { ...node('x').conditions, online: false } },
      { requiresNetworkConnectivity: true },
      'requiresNetworkConnectivity',
    ],
    [
      'an offline node, for an unmetered request',
      { conditions: { ...node('x').conditions, online: false } },
      { requiresUnmeteredNetwork: true },
      'requiresNetworkConnectivity',
    ],
    [
      'a metered node',
      { conditions: { ...node('x').conditions, unmetered: false } },
      { requiresUnmeteredNetwork: true },
      'requiresUnmeteredNetwork',
    ],
    [
      'a node on battery',
      { conditions: { ...node('x').conditions, externalPower: false } },
      { requiresExternalPower: true },
      'requiresExternalPower',
    ],
    [
      'an offline node, for a request that needs no network',
      { conditions: { ...node('x').conditions, online: false } },
      {},
      'eligible',
    ],
    ['a full node', { capacity: { maxConcurrentTasks: 2, running: 2 } }, {}, 'busy'],
  ];
  for (const [what, nodeFields, requestFields, reason] of cases) {
    it(`says ${reason} for ${what}`, () => {
      const verdict = judgeNode(request(requestFields), node('a', nodeFields), NOW);
      assert.equal(verdict.reason, reason);
      assert.equal(verdict.eligible, reason === 'eligible');
      assert.match(verdict.message, /^a: /);
    });
  }

  it('counts unknown conditions as met, and says so', () => {
    const unknown = { online: null, unmetered: null, externalPower: null, lowPowerMode: null, thermal: null };
    const verdict = judgeNode(
      request({ requiresUnmeteredNetwork: true, requiresExternalPower: true }),
      node('a', { conditions: unknown }),
      NOW,
    );
    assert.equal(verdict.reason, 'eligible');
    assert.deepEqual(verdict.unknown, ['network', 'network cost', 'power source']);
    assert.match(verdict.message, /unknown, counted as met/);
  });

  it('says how long a lost node has been silent', () => {
    const verdict = judgeNode(request(), node('a', { heartbeatAt: NOW - 600_000, leaseExpiresAt: NOW - 570_000 }), NOW);
    assert.match(verdict.message, /no heartbeat for 10 min/);
  });

  it('treats a node whose lease ends now as live', () => {
    assert.equal(isNodeLive(node('a', { leaseExpiresAt: NOW }), NOW), true);
    assert.equal(isNodeLive(node('a', { leaseExpiresAt: NOW - 1 }), NOW), false);
  });
});

describe('explainFleetRequest', () => {
  it('says a device request waits on its own node, and judges only that node', () => {
    const explanation = explainFleetRequest(
      { request: request({ placement: undefined }), nodeId: 'a', heldBy: null },
      [node('a'), node('b')],
      [],
      NOW,
    );
    assert.equal(explanation.code, 'deviceOnly');
    assert.equal(explanation.placement, 'device');
    assert.equal(explanation.nodeId, 'a');
    assert.deepEqual(
      explanation.nodes.map((verdict) => verdict.nodeId),
      ['a'],
    );
    assert.match(explanation.summary, /device request of a: only a runs it/);
  });

  it('says when the node of a device request is lost', () => {
    const explanation = explainFleetRequest(
      { request: request({ placement: undefined }), nodeId: 'a', heldBy: null },
      [node('a', { leaseExpiresAt: NOW - 1 })],
      [],
      NOW,
    );
    assert.match(explanation.summary, /a: it is lost/);
  });

  it('names the holder of a claimed request', () => {
    const explanation = explainFleetRequest(pool({}, 'b'), [node('a'), node('b')], [], NOW);
    assert.equal(explanation.code, 'heldBy');
    assert.equal(explanation.nodeId, 'b');
    assert.match(explanation.summary, /claimed by b and starts there/);
  });

  it('says a request held by a lost node goes back to the pool', () => {
    const explanation = explainFleetRequest(
      pool({}, 'b'),
      [node('a'), node('b', { leaseExpiresAt: NOW - 1 })],
      [],
      NOW,
    );
    assert.equal(explanation.code, 'heldBy');
    assert.match(explanation.summary, /no longer live/);
  });

  it('says a future request is not due, with the time and who could claim it', () => {
    const at = NOW + 15 * 60_000;
    const explanation = explainFleetRequest(
      pool({ earliestBeginAt: at }),
      [node('a'), node('b', { apps: [] })],
      [],
      NOW,
    );
    assert.equal(explanation.code, 'notDue');
    assert.equal(explanation.at, at);
    assert.match(explanation.summary, /not due until 2026-01-01T12:15:00.000Z \(in 15 min\); then a could claim it/);
  });

  it('gives every node’s reason when none can run it, nearest to eligible first', () => {
    const nodes = [
      node('a', { stoppedAt: NOW - 1 }),
      node('b', { apps: [] }),
      node('c', { conditions: { ...node('c').conditions, online: false } }),
      node('d', { capacity: { maxConcurrentTasks: 1, running: 1 } }),
    ];
    const explanation = explainFleetRequest(pool({ requiresNetworkConnectivity: true }), nodes, [], NOW);
    assert.equal(explanation.code, 'noEligibleNode');
    assert.deepEqual(
      explanation.nodes.map((verdict) => [verdict.nodeId, verdict.reason]),
      [
        ['d', 'busy'],
        ['c', 'requiresNetworkConnectivity'],
        ['b', 'appNotInstalled'],
        ['a', 'nodeStopped'],
      ],
    );
    assert.match(
      explanation.summary,
      /^No node can run com\.example\.app\.sync now \(d: it is busy: 1 of 1 tasks running; c: .*offline; b: .*not installed there; a: it left the fleet/,
    );
  });

  it('says so when no node has joined', () => {
    const explanation = explainFleetRequest(pool(), [], [], NOW);
    assert.equal(explanation.code, 'noEligibleNode');
    assert.match(explanation.summary, /no node has joined the fleet/);
  });

  it('waits for a claim when some node can run it', () => {
    const explanation = explainFleetRequest(pool(), [node('b'), node('a'), node('c', { apps: [] })], [], NOW);
    assert.equal(explanation.code, 'waitingForClaim');
    assert.deepEqual(
      explanation.nodes.filter((verdict) => verdict.eligible).map((verdict) => verdict.nodeId),
      ['a', 'b'],
    );
    assert.match(explanation.summary, /a or b can run it, and one claims it within a heartbeat/);
  });

  it('mentions an active run of the same identifier, and ignores others', () => {
    const run = (identifier: string, nodeId: string): ExplainRun => ({
      run: { taskId: `t-${nodeId}`, appId: APP, identifier, state: 'running' },
      nodeId,
    });
    const explanation = explainFleetRequest(
      pool(),
      [node('a')],
      [run(`${APP}.sync`, 'b'), run(`${APP}.other`, 'a')],
      NOW,
    );
    assert.deepEqual(explanation.runningOn, [{ nodeId: 'b', taskId: 't-b' }]);
    assert.match(explanation.summary, /A run of it is active on b\./);
  });
});
