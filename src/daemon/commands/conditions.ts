/** `bgtasks conditions`, and its overrides for testing (`set`, `reset`), which survive a restart. */
import { parseConditionAssignments } from '../../conditions/overrides.js';
import type { HistoryEventInput } from '../../engine/types.js';
import type { ControlDeps } from '../control.js';
import type { ControlHandlers } from './handlers.js';

/** The setting that keeps the overrides in the store. */
export const OVERRIDES_SETTING = 'conditions.overrides';

type ConditionsCommand = 'conditions' | 'conditions.set' | 'conditions.reset';

export function conditionsCommands(deps: ControlDeps): ControlHandlers<ConditionsCommand> {
  const { conditions, writer } = deps;
  const current = () => ({ ...conditions.current(), overrides: conditions.overrides() });
  const event = (overrides: Record<string, unknown>): HistoryEventInput => ({
    at: deps.clock.now(),
    appId: null,
    identifier: null,
    taskId: null,
    type: 'conditionsChanged',
    reason: 'override',
    detail: { overrides },
  });
  return {
    conditions: current,
    'conditions.set': async ({ assignments }) => {
      const overrides = parseConditionAssignments(assignments);
      const next = { ...conditions.overrides(), ...overrides };
      await writer.write({ settings: { [OVERRIDES_SETTING]: next }, events: [event(next)] });
      conditions.setOverrides(overrides);
      return current();
    },
    'conditions.reset': async () => {
      await writer.write({ settings: { [OVERRIDES_SETTING]: null }, events: [event({})] });
      conditions.resetOverrides();
      return current();
    },
  };
}
