/** `status` (`bgtasks status`) and `snapshot` (the picture `bgtasks top` and the dashboard draw). */
import type { StatusResult } from '../../protocol/control/index.js';
import type { ControlDeps } from '../control.js';
import { buildSnapshot } from '../snapshot.js';
import type { ControlHandlers } from './handlers.js';

export function statusCommands(deps: ControlDeps): ControlHandlers<'status' | 'snapshot'> {
  const { scheduler, store, conditions } = deps;
  return {
    status: () => status(deps),
    snapshot: () =>
      buildSnapshot({
        scheduler,
        store,
        conditions: () => conditions.current(),
        now: () => deps.clock.now(),
        daemonVersion: deps.daemonVersion,
        profile: deps.profile.name,
        notifications: deps.notifications,
        fleet: deps.fleet ?? null,
      }),
  };
}

function status(deps: ControlDeps): StatusResult {
  const { scheduler, store, conditions, clock } = deps;
  const cpu = process.cpuUsage();
  return {
    version: deps.daemonVersion,
    pid: process.pid,
    home: deps.home,
    store: { kind: store.kind, location: store.location, fault: deps.writer.fault },
    history: deps.history?.status() ?? null,
    node: deps.fleet ? deps.fleet.nodeId : null,
    startedAt: deps.startedAt,
    profile: deps.profile,
    wakeups: 'wakeups' in clock && typeof clock.wakeups === 'number' ? clock.wakeups : null,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    backgroundAppRefresh: scheduler.backgroundAppRefresh,
    apps: [...scheduler.apps.all()].length,
    pending: scheduler.queue.size,
    running: scheduler.runs.size,
    conditions: conditions.current(),
    dashboard: deps.dashboard?.() ?? null,
  };
}
