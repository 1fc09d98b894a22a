import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BGTaskSchedulerError, describeThrown, fromWireError, systemUnreachableError } from '../../src/sdk/errors.js';
import {
  BGAppRefreshTaskRequest,
  BGProcessingTaskRequest,
  BGTaskRequest,
  requestFromPending,
} from '../../src/sdk/requests.js';

function assertInvalid(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof BGTaskSchedulerError);
    assert.equal(error.code, 'invalidRequest');
    assert.equal(error.field, field);
    assert.match(error.message, new RegExp(`^${field}:`));
    return true;
  });
}

describe('BGTaskSchedulerError', () => {
  it('lists its codes, names itself and carries code and field', () => {
    assert.equal(BGTaskSchedulerError.Code.notPermitted, 'notPermitted');
    assert.deepEqual(Object.keys(BGTaskSchedulerError.Code).sort(), [
      'immediateRunIneligible',
      'invalidRequest',
      'notPermitted',
      'notificationsNotAllowed',
      'systemUnreachable',
      'tooManyPendingTaskRequests',
      'unavailable',
    ]);
    const error = new BGTaskSchedulerError('invalidRequest', 'bad', { field: 'identifier' });
    assert.equal(error.name, 'BGTaskSchedulerError');
    assert.equal(error.field, 'identifier');
    assert.ok(error instanceof Error);
    assert.ok(!(new Error('x') instanceof BGTaskSchedulerError));
  });

  it('says where the daemon should be and how to start one', () => {
    const error = systemUnreachableError('/home/u/.local/state/bgtasks/run/daemon.sock', 'ENOENT');
    assert.equal(error.code, 'systemUnreachable');
    assert.match(error.message, /\/home\/u\/\.local\/state\/bgtasks\/run\/daemon\.sock/);
    assert.match(error.message, /run `bgtasks daemon` \(or `npm start` in the bgtasks checkout\)/);
  });

  it('maps wire errors: scheduler codes pass through, daemon codes fall back', () => {
    const permitted = fromWireError({ code: 'notPermitted', message: 'no', field: 'identifier' });
    assert.equal(permitted.code, 'notPermitted');
    assert.equal(permitted.field, 'identifier');
    const unknown = fromWireError({ code: 'unknownApp', message: 'app com.x is not installed' });
    assert.equal(unknown.code, 'unavailable');
    assert.match(unknown.message, /not installed \(unknownApp\)/);
  });

  it('describes anything thrown, within the protocol limit', () => {
    assert.equal(describeThrown(new Error('boom')), 'boom');
    assert.equal(describeThrown('plain'), 'plain');
    assert.equal(describeThrown({ a: 1 }), '{"a":1}');
    assert.equal(describeThrown(42), '42');
    assert.equal(describeThrown('x'.repeat(5000)).length, 4096);
  });
});

describe('BGTaskRequest', () => {
  it('has Apple defaults', () => {
    const refresh = new BGAppRefreshTaskRequest('com.example.feeds.refresh');
    assert.ok(refresh instanceof BGTaskRequest);
    assert.equal(refresh.identifier, 'com.example.feeds.refresh');
    assert.equal(refresh.kind, 'refresh');
    assert.equal(refresh.earliestBeginDate, null);
    const processing = new BGProcessingTaskRequest('com.example.feeds.db-cleanup');
    assert.equal(processing.kind, 'processing');
    assert.equal(processing.requiresNetworkConnectivity, false);
    assert.equal(processing.requiresExternalPower, false);
  });

  it('rejects a malformed identifier with invalidRequest, field identifier', () => {
    for (const bad of ['', 'has space', '.leading', 'com.example.*', 'x'.repeat(201), 42, null]) {
      assertInvalid(() => new BGAppRefreshTaskRequest(bad as string), 'identifier');
      assertInvalid(() => new BGProcessingTaskRequest(bad as string), 'identifier');
    }
  });

  it('keeps the identifier read-only', () => {
    const request = new BGAppRefreshTaskRequest('com.example.a');
    assert.throws(() => {
      (request as unknown as { identifier: string }).identifier = 'com.example.b';
    }, TypeError);
    assert.equal(request.identifier, 'com.example.a');
  });

  it('turns into the protocol input', () => {
    const refresh = new BGAppRefreshTaskRequest('com.example.a');
    refresh.earliestBeginDate = new Date(1_800_000_000_000);
    assert.deepEqual(refresh.toInput(), {
      identifier: 'com.example.a',
      kind: 'refresh',
      earliestBeginAt: 1_800_000_000_000,
      requiresNetworkConnectivity: false,
      requiresExternalPower: false,
      requiresUnmeteredNetwork: false,
      interval: null,
      tolerance: null,
      retry: null,
      continued: null,
    });
    const processing = new BGProcessingTaskRequest('com.example.b');
    processing.requiresExternalPower = true;
    assert.deepEqual(processing.toInput(), {
      identifier: 'com.example.b',
      kind: 'processing',
      earliestBeginAt: null,
      requiresNetworkConnectivity: false,
      requiresExternalPower: true,
      requiresUnmeteredNetwork: false,
      interval: null,
      tolerance: null,
      retry: null,
      continued: null,
    });
    const periodic = new BGAppRefreshTaskRequest('com.example.c');
    periodic.interval = 15 * 60_000;
    periodic.retry = { maxAttempts: 3 };
    periodic.requiresUnmeteredNetwork = true;
    assert.deepEqual(periodic.toInput(), {
      identifier: 'com.example.c',
      kind: 'refresh',
      earliestBeginAt: null,
      requiresNetworkConnectivity: false,
      requiresExternalPower: false,
      requiresUnmeteredNetwork: true,
      interval: 900_000,
      tolerance: null,
      retry: { maxAttempts: 3, backoff: 'exponential', initialDelay: 1000, maxDelay: 3_600_000 },
      continued: null,
    });
    periodic.retry = { maxAttempts: 3, initialDelay: 5000, maxDelay: 10 };
    assert.throws(
      () => periodic.toInput(),
      (error: Error & { field?: string }) => error.field === 'retry.maxDelay',
    );
    periodic.retry = null;
    periodic.tolerance = periodic.interval + 1;
    assert.throws(
      () => periodic.toInput(),
      (error: Error & { field?: string }) => error.field === 'tolerance',
    );
    (processing as unknown as { earliestBeginDate: undefined }).earliestBeginDate = undefined;
    assert.equal(processing.toInput().earliestBeginAt, null);
  });

  it('checks the mutable fields at submit time, naming the field', () => {
    const refresh = new BGAppRefreshTaskRequest('com.example.a');
    refresh.earliestBeginDate = new Date(Number.NaN);
    assertInvalid(() => refresh.toInput(), 'earliestBeginDate');
    (refresh as unknown as { earliestBeginDate: unknown }).earliestBeginDate = '2030-01-01';
    assertInvalid(() => refresh.toInput(), 'earliestBeginDate');
    (refresh as unknown as { earliestBeginDate: unknown }).earliestBeginDate = 1_800_000_000_000;
    assertInvalid(() => refresh.toInput(), 'earliestBeginDate');

    const processing = new BGProcessingTaskRequest('com.example.b');
    (processing as unknown as { requiresNetworkConnectivity: unknown }).requiresNetworkConnectivity = 'yes';
    assertInvalid(() => processing.toInput(), 'requiresNetworkConnectivity');
    processing.requiresNetworkConnectivity = true;
    (processing as unknown as { requiresExternalPower: unknown }).requiresExternalPower = 1;
    assertInvalid(() => processing.toInput(), 'requiresExternalPower');
  });

  it(
    "placement: 'device' by default and not sent; 'any' is sent, kept by pending " +
      'copies, and anything else is refused',
    () => {
      const processing = new BGProcessingTaskRequest('com.example.b');
      assert.equal(processing.placement, 'device');
      assert.equal('placement' in processing.toInput(), false, 'an older daemon reads the same request as before');
      processing.placement = 'any';
      assert.equal(processing.toInput().placement, 'any');
      assert.equal((processing.toJSON() as { placement?: string }).placement, 'any');
      (processing as unknown as { placement: unknown }).placement = 'everywhere';
      assertInvalid(() => processing.toInput(), 'placement');
      const copy = requestFromPending({
        identifier: 'com.example.b',
        kind: 'processing',
        earliestBeginAt: null,
        requiresNetworkConnectivity: false,
        requiresExternalPower: false,
        placement: 'any',
        submittedAt: 1,
      });
      assert.equal(copy.placement, 'any');
    },
  );

  it('clamps a date before 1970 to "no delay" rather than sending a negative time', () => {
    const refresh = new BGAppRefreshTaskRequest('com.example.a');
    refresh.earliestBeginDate = new Date(-1000);
    assert.equal(refresh.toInput().earliestBeginAt, 0);
  });

  it('builds new requests from the daemon data of pending ones', () => {
    const data = {
      identifier: 'com.example.b',
      kind: 'processing' as const,
      earliestBeginAt: 1_800_000_000_000,
      requiresNetworkConnectivity: true,
      requiresExternalPower: false,
      submittedAt: 1_700_000_000_000,
    };
    const first = requestFromPending(data);
    const second = requestFromPending(data);
    assert.notEqual(first, second);
    assert.ok(first instanceof BGProcessingTaskRequest);
    assert.equal(first.requiresNetworkConnectivity, true);
    assert.equal(first.earliestBeginDate?.getTime(), 1_800_000_000_000);
    first.earliestBeginDate = null;
    assert.equal(second.earliestBeginDate?.getTime(), 1_800_000_000_000);
    const refresh = requestFromPending({ ...data, kind: 'refresh', earliestBeginAt: null });
    assert.ok(refresh instanceof BGAppRefreshTaskRequest);
    assert.equal(refresh.earliestBeginDate, null);
    assert.deepEqual(JSON.parse(JSON.stringify(refresh)), {
      identifier: 'com.example.b',
      kind: 'refresh',
      earliestBeginDate: null,
    });
  });
});

describe('calendar and file triggers on requests', () => {
  const invalidField = (request: BGProcessingTaskRequest) => {
    try {
      request.toInput();
    } catch (error) {
      return error instanceof BGTaskSchedulerError ? error.field : 'not typed';
    }
    return null;
  };

  it('sends calendar, timeZone and triggers only when set, and checks their shape, naming the field', () => {
    const request = new BGProcessingTaskRequest('com.example.a');
    assert.equal('calendar' in request.toInput() || 'triggers' in request.toInput(), false);
    request.calendar = 'Mon..Fri *-*-* 03:00:00';
    request.timeZone = 'Europe/Paris';
    assert.deepEqual(
      [request.toInput().calendar, request.toInput().timeZone],
      ['Mon..Fri *-*-* 03:00:00', 'Europe/Paris'],
    );
    const watcher = new BGProcessingTaskRequest('com.example.b');
    watcher.triggers = { paths: ['~/Inbox'] };
    assert.deepEqual(watcher.toInput().triggers, { paths: ['~/Inbox'], debounce: 2_000 });
    watcher.triggers = { paths: [] };
    assert.equal(invalidField(watcher), 'triggers.paths');
    watcher.triggers = { paths: ['/a', 42 as unknown as string] };
    assert.equal(invalidField(watcher), 'triggers.paths.1');
    watcher.triggers = { paths: ['/a'], debounce: -1 };
    assert.equal(invalidField(watcher), 'triggers.debounce');
    watcher.triggers = { paths: ['/a'], recursive: true } as unknown as { paths: string[] };
    assert.equal(invalidField(watcher), 'triggers.recursive');
    request.calendar = 42 as unknown as string;
    assert.equal(invalidField(request), 'calendar');
  });

  it('gives a pending request back with its calendar and triggers', () => {
    const base = {
      identifier: 'com.example.c',
      kind: 'processing' as const,
      earliestBeginAt: null,
      requiresNetworkConnectivity: false,
      requiresExternalPower: false,
      submittedAt: 1,
    };
    const copy = requestFromPending({
      ...base,
      calendar: 'daily',
      timeZone: null,
      triggers: { paths: ['/in'], debounce: 500 },
    });
    assert.equal(copy.calendar, 'daily');
    assert.deepEqual(copy.triggers, { paths: ['/in'], debounce: 500 });
  });
});
