import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ControlArgs, ControlResult, HandledControlName } from '../../protocol/control/index.js';
import { notificationIdSchema } from '../../protocol/control/args.js';
import { appIdSchema, identifierSchema } from '../../protocol/identifiers.js';
import { HttpError, readBody, sendJson, statusForCode } from './respond.js';
import type { SnapshotStream } from './sse.js';

/** What the API asks of the daemon: its control commands, the same ones `bgtasks` sends. */
export interface DashboardControl {
  call<N extends HandledControlName>(name: N, args: ControlArgs<N>): Promise<ControlResult<N>>;
}

export interface ApiContext {
  readonly control: DashboardControl;
  readonly stream: SnapshotStream;
  readonly bodyLimit: number;
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  handle(
    context: ApiContext,
    request: IncomingMessage,
    response: ServerResponse,
    params: readonly string[],
  ): Promise<void>;
}

const noArguments = z.strictObject({});
const switchBody = z.strictObject({ enabled: z.boolean({ error: 'must be true or false' }) });
const notificationsBody = z.strictObject({ allowed: z.boolean({ error: 'must be true or false' }) });
/** Task ids are UUIDs; the pattern only keeps odd bytes out of error messages and logs. */
const taskIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a task id (a UUID)');

const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/snapshot$/,
    handle: async ({ control }, _request, response) => sendJson(response, 200, await command(control, 'snapshot', {})),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/events$/,
    handle: async ({ stream }, _request, response) => {
      if (!stream.add(response))
        throw new HttpError(503, 'tooManyStreams', 'too many open event streams; close a dashboard tab', undefined, {
          'Retry-After': '5',
        });
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/tasks\/([^/]+)\/cancel$/,
    handle: async ({ control, bodyLimit }, request, response, [rawTaskId]) => {
      const taskId = param(taskIdSchema, rawTaskId, 'taskId');
      await readBody(request, noArguments, bodyLimit);
      // 202: the app is told now; its expiration handler and the run's end follow on the event stream.
      sendJson(response, 202, await command(control, 'cancelTask', { taskId }));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/apps\/([^/]+)\/queue\/([^/]+)\/cancel$/,
    handle: async ({ control, bodyLimit }, request, response, [rawAppId, rawIdentifier]) => {
      const appId = param(appIdSchema, rawAppId, 'appId');
      const identifier = param(identifierSchema, rawIdentifier, 'identifier');
      await readBody(request, noArguments, bodyLimit);
      sendJson(response, 200, await command(control, 'cancelQueued', { appId, identifier }));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/apps\/([^/]+)\/(enable|disable)$/,
    handle: async ({ control, bodyLimit }, request, response, [rawAppId, verb]) => {
      const appId = param(appIdSchema, rawAppId, 'appId');
      await readBody(request, noArguments, bodyLimit);
      sendJson(response, 200, await command(control, verb === 'enable' ? 'enable' : 'disable', { appId }));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/apps\/([^/]+)\/notifications$/,
    handle: async ({ control, bodyLimit }, request, response, [rawAppId]) => {
      const appId = param(appIdSchema, rawAppId, 'appId');
      const { allowed } = await readBody(request, notificationsBody, bodyLimit);
      sendJson(
        response,
        200,
        await command(control, allowed ? 'notifications.allow' : 'notifications.deny', { appId }),
      );
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/notifications\/([^/]+)\/actions\/([^/]+)$/,
    handle: async ({ control, bodyLimit }, request, response, [rawId, rawAction]) => {
      const notificationId = param(notificationIdSchema, rawId, 'notificationId');
      const actionId = param(identifierSchema, rawAction, 'actionId');
      await readBody(request, noArguments, bodyLimit);
      // 202: the choice is kept and handed to the app, which may first have to be launched.
      sendJson(response, 202, await command(control, 'notifications.act', { notificationId, actionId }));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/notifications\/([^/]+)\/dismiss$/,
    handle: async ({ control, bodyLimit }, request, response, [rawId]) => {
      const notificationId = param(notificationIdSchema, rawId, 'notificationId');
      await readBody(request, noArguments, bodyLimit);
      sendJson(response, 200, await command(control, 'notifications.dismiss', { notificationId }));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/switch$/,
    handle: async ({ control, bodyLimit }, request, response) => {
      const { enabled } = await readBody(request, switchBody, bodyLimit);
      sendJson(response, 200, await command(control, enabled ? 'enable' : 'disable', { all: true }));
    },
  },
];

/** Answers `/v1/...`; throws HttpError for the caller to send. */
export async function handleApi(
  context: ApiContext,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): Promise<void> {
  const matching = ROUTES.filter((route) => route.pattern.test(path));
  if (matching.length === 0) throw new HttpError(404, 'notFound', `no API at ${path}`);
  const route = matching.find((candidate) => candidate.method === request.method);
  if (!route) {
    const allowed = matching.map((candidate) => candidate.method).join(', ');
    throw new HttpError(405, 'methodNotAllowed', `${path} takes ${allowed}`, undefined, { Allow: allowed });
  }
  await route.handle(context, request, response, route.pattern.exec(path)!.slice(1));
}

function param<T>(schema: z.ZodType<T>, raw: string | undefined, field: string): T {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw ?? '');
  } catch {
    throw new HttpError(400, 'invalidArgument', `${field}: is not valid percent-encoding`, field);
  }
  const parsed = schema.safeParse(decoded);
  if (!parsed.success)
    throw new HttpError(400, 'invalidArgument', `${field}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, field);
  return parsed.data;
}

/** Runs a control command; its refusals keep their code and field, with a matching HTTP status. */
async function command<N extends HandledControlName>(
  control: DashboardControl,
  name: N,
  args: ControlArgs<N>,
): Promise<ControlResult<N>> {
  try {
    return await control.call(name, args);
  } catch (error) {
    const { code, field } = (error ?? {}) as { code?: unknown; field?: unknown };
    if (typeof code !== 'string') throw error;
    throw new HttpError(
      statusForCode(code),
      code,
      error instanceof Error ? error.message : String(error),
      typeof field === 'string' ? field : undefined,
    );
  }
}
