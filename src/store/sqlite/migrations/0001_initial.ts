/**
 * Migration 1: the initial schema.
 *
 * Conventions: times are INTEGER milliseconds since the epoch, booleans INTEGER 0/1, lists and free-form
 * objects JSON TEXT. Tables are STRICT so a value of the wrong type fails loudly instead of being stored
 * with SQLite's type affinity.
 *
 * There are no foreign keys: the daemon orders its own writes, runs and events outlive the app they
 * belong to, and the checks would cost an index probe on every row of a 100,000-row batch.
 *
 * Migrations are append-only: once released, this text must never change; change the schema in a new
 * numbered migration instead.
 */
export const sql = /* sql */ `
CREATE TABLE apps (
  app_id                TEXT    NOT NULL PRIMARY KEY,
  dir                   TEXT    NOT NULL,
  launch                TEXT    NOT NULL, -- JSON array of strings
  permitted_identifiers TEXT    NOT NULL, -- JSON array of strings
  background_modes      TEXT    NOT NULL, -- JSON array of strings
  enabled               INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  credential_hash       TEXT    NOT NULL,
  installed_at          INTEGER NOT NULL
) STRICT;

-- seq is the insertion order, the tie-break of listRequests; a replacement takes a new seq.
CREATE TABLE requests (
  seq                           INTEGER NOT NULL PRIMARY KEY,
  request_id                    TEXT    NOT NULL UNIQUE,
  app_id                        TEXT    NOT NULL,
  identifier                    TEXT    NOT NULL,
  kind                          TEXT    NOT NULL,
  earliest_begin_at             INTEGER,
  requires_network_connectivity INTEGER NOT NULL CHECK (requires_network_connectivity IN (0, 1)),
  requires_external_power       INTEGER NOT NULL CHECK (requires_external_power IN (0, 1)),
  submitted_at                  INTEGER NOT NULL,
  UNIQUE (app_id, identifier)
) STRICT;
CREATE INDEX requests_earliest_begin_at ON requests (earliest_begin_at);

-- task_id is the key every caller uses (NOT NULL UNIQUE); seq is the rowid, kept explicitly because
-- VACUUM may renumber an implicit rowid and listRuns orders by insertion. AUTOINCREMENT never reuses
-- a seq, so "newest first" holds even after history is pruned.
CREATE TABLE runs (
  seq                           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  task_id                       TEXT    NOT NULL UNIQUE,
  request_id                    TEXT    NOT NULL,
  app_id                        TEXT    NOT NULL,
  identifier                    TEXT    NOT NULL,
  kind                          TEXT    NOT NULL,
  requires_network_connectivity INTEGER NOT NULL CHECK (requires_network_connectivity IN (0, 1)),
  requires_external_power       INTEGER NOT NULL CHECK (requires_external_power IN (0, 1)),
  earliest_begin_at             INTEGER,
  submitted_at                  INTEGER NOT NULL,
  eligible_at                   INTEGER,
  forced                        INTEGER NOT NULL CHECK (forced IN (0, 1)),
  state                         TEXT    NOT NULL,
  launch                        TEXT,
  launched_at                   INTEGER,
  started_at                    INTEGER,
  deadline_at                   INTEGER,
  expired_at                    INTEGER,
  expiration_reason             TEXT,
  completed_at                  INTEGER,
  outcome                       TEXT,
  reason                        TEXT,
  error                         TEXT
) STRICT;
-- Every index ends in the rowid, so runs of one (app, identifier) come out in seq order without a sort.
CREATE INDEX runs_app_identifier ON runs (app_id, identifier);
-- Partial: active runs are a handful among millions of finished ones.
CREATE INDEX runs_active ON runs (state) WHERE state <> 'finished';

CREATE TABLE events (
  seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  app_id     TEXT,
  identifier TEXT,
  task_id    TEXT,
  type       TEXT    NOT NULL,
  reason     TEXT,
  detail     TEXT -- JSON object, or NULL
) STRICT;
-- Partial, because daemon-wide events (conditionsChanged) carry no app or task and need no entry.
CREATE INDEX events_app_identifier ON events (app_id, identifier) WHERE app_id IS NOT NULL;
CREATE INDEX events_task_id ON events (task_id) WHERE task_id IS NOT NULL;

CREATE TABLE settings (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL -- JSON
) STRICT;
`;
