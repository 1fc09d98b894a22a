import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestQueue } from '../../src/engine/requestQueue.js';
import type { TaskRequest } from '../../src/engine/types.js';

let seq = 0;
function request(identifier: string, fields: Partial<TaskRequest> = {}): TaskRequest {
  return {
    requestId: `r${seq++}`,
    appId: 'com.example.app',
    identifier,
    kind: 'refresh',
    earliestBeginAt: null,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: null,
    submittedAt: 0,
    ...fields,
  };
}

function ready(queue: RequestQueue, appId = 'com.example.app'): string[] {
  return [...queue.readyFor(appId)].map((entry) => entry.request.identifier);
}

describe('RequestQueue', () => {
  it('replaces the pending request with the same identifier and returns the replaced one', () => {
    const queue = new RequestQueue();
    const first = request('a');
    assert.equal(queue.put(first, 0), undefined);
    const second = request('a');
    assert.equal(queue.put(second, 0), first);
    assert.equal(queue.size, 1);
    assert.equal(queue.get('com.example.app', 'a')?.request, second);
  });

  it('keeps future requests out of the ready list until they are due', () => {
    const queue = new RequestQueue();
    queue.put(request('later', { earliestBeginAt: 1000 }), 0);
    queue.put(request('now'), 0);
    assert.deepEqual(ready(queue), ['now']);
    assert.equal(queue.nextDueAt(), 1000);
    queue.promoteDue(999);
    assert.deepEqual(ready(queue), ['now']);
    queue.promoteDue(1000);
    assert.deepEqual(ready(queue), ['now', 'later']);
    assert.equal(queue.nextDueAt(), undefined);
  });

  it('skips a heap entry whose request was replaced or removed', () => {
    const queue = new RequestQueue();
    queue.put(request('a', { earliestBeginAt: 100 }), 0);
    queue.put(request('a', { earliestBeginAt: 500 }), 0);
    queue.put(request('b', { earliestBeginAt: 50 }), 0);
    queue.remove('com.example.app', 'b');
    assert.equal(queue.nextDueAt(), 500);
    queue.promoteDue(200);
    assert.deepEqual(ready(queue), []);
  });

  it('removes only the named request when a requestId is given', () => {
    const queue = new RequestQueue();
    const old = request('a');
    queue.put(old, 0);
    const replacement = request('a');
    queue.put(replacement, 0);
    assert.equal(queue.remove('com.example.app', 'a', old.requestId), undefined);
    assert.equal(queue.remove('com.example.app', 'a', replacement.requestId), replacement);
    assert.equal(queue.size, 0);
  });

  it('parks requests until the conditions change', () => {
    const queue = new RequestQueue();
    queue.put(request('a'), 0);
    queue.put(request('b'), 0);
    const [first] = queue.readyFor('com.example.app');
    queue.park(first!);
    assert.deepEqual(ready(queue), ['b']);
    queue.unparkAll();
    assert.deepEqual(ready(queue).sort(), ['a', 'b']);
  });

  it('counts pending processing requests per app, across replacement and removal', () => {
    const queue = new RequestQueue();
    queue.put(request('p1', { kind: 'processing' }), 0);
    queue.put(request('p2', { kind: 'processing' }), 0);
    queue.put(request('p2', { kind: 'processing' }), 0);
    queue.put(request('r'), 0);
    assert.equal(queue.processingCount('com.example.app'), 2);
    queue.remove('com.example.app', 'p1');
    assert.equal(queue.processingCount('com.example.app'), 1);
    assert.equal(queue.removeApp('com.example.app').length, 2);
    assert.equal(queue.processingCount('com.example.app'), 0);
  });
});
