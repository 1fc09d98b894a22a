import type { IncomingMessage, ServerResponse } from 'node:http';
import { appIdSchema } from '../../protocol/identifiers.js';
import { pushBodySchema, type PushBody } from '../../protocol/push.js';
import { HttpError, readBody, sendJson, statusForCode } from './respond.js';

/** `POST /v1/apps/{appId}/push`: the one route a sender reaches with an app's push token, not the dashboard's. */
export const PUSH_PATH = /^\/v1\/apps\/([^/]+)\/push$/;

export interface PushRouteContext {
  /** Whether the token is the app's current push token. */
  verify(appId: string, token: string): boolean;
  /** Stores the push; resolves with its receipt once it is durable. */
  receive(appId: string, body: PushBody): Promise<unknown>;
  readonly bodyLimit: number;
}

/**
 * A background push from a sender. The order of checks keeps what is refused from being stored or
 * revealed: the app's token first (401 alike for a wrong token and an unknown app), then the body's size
 * (413) and shape (400 with the field), and only then the store, which answers after the push is durable.
 */
export async function handlePush(
  context: PushRouteContext,
  request: IncomingMessage,
  response: ServerResponse,
  rawAppId: string,
): Promise<void> {
  if (request.method !== 'POST')
    throw new HttpError(405, 'methodNotAllowed', 'a push is a POST', undefined, { Allow: 'POST' });
  const appId = decodeAppId(rawAppId);
  const token = bearer(request.headers.authorization);
  if (token === null)
    throw unauthorized(
      `send ${appId}'s push token as "Authorization: Bearer TOKEN" (\`bgtasks apps ` + `token ${appId}\` shows it)`,
    );
  if (!context.verify(appId, token))
    throw unauthorized(`the token is not ${appId}'s push token (or no such app is installed)`);
  const body = await readBody(request, pushBodySchema, context.bodyLimit);
  let receipt: unknown;
  try {
    receipt = await context.receive(appId, body);
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
  sendJson(response, 200, receipt);
}

function decodeAppId(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'invalidArgument', 'appId: is not valid percent-encoding', 'appId');
  }
  const parsed = appIdSchema.safeParse(decoded);
  if (!parsed.success)
    throw new HttpError(400, 'invalidArgument', `appId: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 'appId');
  return parsed.data;
}

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S{16,256})\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'unauthorized', message, 'Authorization', {
    'WWW-Authenticate': 'Bearer realm="bgtasks push"',
  });
}
