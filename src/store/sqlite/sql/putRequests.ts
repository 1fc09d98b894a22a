import type { TaskRequest } from '../../../engine/types.js';
import type { SqlContext } from './context.js';
import { REQUEST_INSERT_COLUMNS, REQUEST_INSERT_VALUES, requestParams } from './rows.js';

// A replacement is a new submission, so it also takes a new seq: among requests submitted in the same
// millisecond it then lists after the ones that were already pending.
const UPSERT_REQUEST = /* sql */ `
INSERT INTO requests (${REQUEST_INSERT_COLUMNS})
VALUES (${REQUEST_INSERT_VALUES})
ON CONFLICT (app_id, identifier) DO UPDATE SET
  seq = (SELECT max(seq) FROM requests) + 1,
  request_id = excluded.request_id,
  kind = excluded.kind,
  earliest_begin_at = excluded.earliest_begin_at,
  requires_network_connectivity = excluded.requires_network_connectivity,
  requires_external_power = excluded.requires_external_power,
  submitted_at = excluded.submitted_at,
  requires_unmetered_network = excluded.requires_unmetered_network,
  recurrence = excluded.recurrence,
  retry = excluded.retry,
  attempt = excluded.attempt,
  continued = excluded.continued,
  placement = excluded.placement,
  requeue_on_exit = excluded.requeue_on_exit,
  put_back = excluded.put_back,
  data = excluded.data,
  depends_on = excluded.depends_on,
  triggers = excluded.triggers`;

/**
 * Inserts each request, replacing the pending request with the same (appId, identifier), its
 * `requestId` included. A `requestId` already used by another pending request fails the batch.
 */
export function putRequests(ctx: SqlContext, requests: readonly TaskRequest[]): void {
  const statement = ctx.statement(UPSERT_REQUEST);
  for (const request of requests) statement.run(...requestParams(request));
}

const INSERT_REQUEST = /* sql */ `INSERT INTO requests (${REQUEST_INSERT_COLUMNS}) VALUES (${REQUEST_INSERT_VALUES})`;

/** Inserts one request that is known not to conflict (recovery checks first). */
export function insertRequest(ctx: SqlContext, request: TaskRequest): void {
  ctx.statement(INSERT_REQUEST).run(...requestParams(request));
}
