import type { AppMessage, Completion } from './messages.js';
import { payloadProblem } from './payload.js';

/**
 * Hand-written checks for the frames an app sends for every task (`started`, `completed`): the same rules
 * as their zod schemas in messages.ts (test/unit/hotFrames.test.ts holds the two together on generated
 * frames), at a fraction of the cost, because a busy app sends thousands of items a second. A frame they
 * do not accept is handed to zod, which accepts or refuses it with its usual message naming the field.
 */

const MAX_ITEMS = 10_000;
const COMPLETION_KEYS = new Set(['taskId', 'success', 'reason', 'error', 'result', 'output']);
const RESULTS = new Set(['newData', 'noData', 'failed']);

const isText = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isItemList = (value: unknown): value is unknown[] =>
  Array.isArray(value) && value.length >= 1 && value.length <= MAX_ITEMS;

type PushResult = 'newData' | 'noData' | 'failed';

/** The frame as the scheduler takes it when it is a valid `started` or `completed`; otherwise undefined. */
export function parseHotFrame(frame: unknown): AppMessage | undefined {
  if (!isPlainObject(frame)) return undefined;
  if (frame.t === 'started') return parseStarted(frame);
  if (frame.t === 'completed') return parseCompleted(frame);
  return undefined;
}

function parseStarted(frame: Record<string, unknown>): AppMessage | undefined {
  const { taskIds } = frame;
  if (Object.keys(frame).length !== 2 || !isItemList(taskIds)) return undefined;
  for (const taskId of taskIds) if (!isText(taskId, 1, 64)) return undefined;
  return { t: 'started', taskIds: taskIds as string[] };
}

function parseCompleted(frame: Record<string, unknown>): AppMessage | undefined {
  const { completions } = frame;
  if (Object.keys(frame).length !== 2 || !isItemList(completions)) return undefined;
  const parsed = new Array<Completion & { result: PushResult | null }>(completions.length);
  for (let i = 0; i < completions.length; i++) {
    const item: unknown = completions[i];
    if (!isPlainObject(item)) return undefined;
    for (const key in item) if (!COMPLETION_KEYS.has(key) || !Object.hasOwn(item, key)) return undefined;
    const { taskId, success, reason = null, error = null, result = null, output } = item;
    if (!isText(taskId, 1, 64) || typeof success !== 'boolean') return undefined;
    if (reason !== null && !isText(reason, 1, 64)) return undefined;
    if (error !== null && !isText(error, 0, 4096)) return undefined;
    if (result !== null && !(typeof result === 'string' && RESULTS.has(result))) return undefined;
    // A result is measured only when there is one: most tasks return nothing.
    if (output !== undefined && payloadProblem(output) !== null) return undefined;
    const completion = { taskId, success, reason, error, result: result as PushResult | null };
    parsed[i] = output === undefined ? completion : { ...completion, output };
  }
  return { t: 'completed', completions: parsed };
}
