import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { describeIssue } from '../../protocol/messages.js';

/** An API failure: an HTTP status, a stable code, and the field at fault where there is one. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Headers on every answer: nothing is cached (the token or live data), sniffed or framed. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...BASE_HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

export function sendError(response: ServerResponse, error: HttpError): void {
  const body = { error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) } };
  sendJson(response, error.status, body, error.headers);
}

/** The HTTP status for a control command's error code. */
export function statusForCode(code: string): number {
  if (code === 'invalidArgument' || code === 'unknownAction') return 400;
  if (code === 'notPermitted' || code === 'notificationsNotAllowed') return 403;
  if (code === 'unknownApp' || code === 'unknownTask' || code === 'unknownNotification') return 404;
  if (code === 'notRunning' || code === 'notPending' || code === 'alreadyAnswered') return 409;
  if (code === 'payloadTooLarge') return 413;
  // The store cannot be written now (disk full, read-only, locked): try again later.
  if (code === 'storeFailed' || code === 'storeFull' || code === 'storeReadOnly' || code === 'storeBusy') return 503;
  return 500;
}

/**
 * Reads a JSON body of at most `limit` bytes and checks it against `schema`. An absent body is `{}`, so
 * POSTs that take no arguments need none. Errors name the field, like the daemon's other commands.
 */
export async function readBody<T>(request: IncomingMessage, schema: z.ZodType<T>, limit: number): Promise<T> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit)
    throw new HttpError(413, 'bodyTooLarge', `the body is ${declared} bytes; at most ${limit} are accepted`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Chunked bodies declare no length: count as they come and stop reading at the limit.
      if (size > limit) throw new HttpError(413, 'bodyTooLarge', `the body is over ${limit} bytes`);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client hung up before its body ended (`aborted`): its mistake, not the daemon's fault to log.
    throw new HttpError(400, 'incompleteBody', 'the connection closed before the body ended');
  }
  let value: unknown = {};
  if (size > 0) {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json')
      throw new HttpError(415, 'unsupportedMediaType', `send the body as application/json, not "${type || 'none'}"`);
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new HttpError(400, 'invalidJson', 'the body is not valid JSON');
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const { field, message } = describeIssue(parsed.error);
    throw new HttpError(400, 'invalidArgument', message, field || undefined);
  }
  return parsed.data;
}
