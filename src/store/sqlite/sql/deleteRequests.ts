import type { RequestRef } from '../../store.js';
import type { SqlContext } from './context.js';

const BY_APP = /* sql */ `DELETE FROM requests WHERE app_id = ?`;
const BY_IDENTIFIER = /* sql */ `DELETE FROM requests WHERE app_id = ? AND identifier = ?`;
const BY_REQUEST_ID = /* sql */ `DELETE FROM requests WHERE app_id = ? AND request_id = ?`;
const BY_IDENTIFIER_AND_REQUEST_ID = /* sql */ `
DELETE FROM requests WHERE app_id = ? AND identifier = ? AND request_id = ?`;

/**
 * Deletes pending requests: all of an app's, one identifier's, or (with `requestId`) only that exact
 * request, so a replacement submitted after the caller looked survives.
 */
export function deleteRequests(ctx: SqlContext, refs: readonly RequestRef[]): void {
  for (const { appId, identifier, requestId } of refs) {
    if (identifier === undefined && requestId === undefined) ctx.statement(BY_APP).run(appId);
    else if (requestId === undefined) ctx.statement(BY_IDENTIFIER).run(appId, identifier);
    else if (identifier === undefined) ctx.statement(BY_REQUEST_ID).run(appId, requestId);
    else ctx.statement(BY_IDENTIFIER_AND_REQUEST_ID).run(appId, identifier, requestId);
  }
}
