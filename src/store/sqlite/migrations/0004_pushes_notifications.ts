/**
 * Migration 4: background pushes and user notifications.
 *
 * `pushes` keeps every push from its receipt (stored before the sender gets its answer) to its end:
 * delivered, collapsed, expired or failed. `seq` is the order of arrival; an app's pushes are delivered
 * in that order. `notifications` keeps what apps posted and what the person chose.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
CREATE TABLE pushes (
  push_id         TEXT    NOT NULL PRIMARY KEY,
  app_id          TEXT    NOT NULL,
  seq             INTEGER NOT NULL UNIQUE CHECK (seq >= 1),
  received_at     INTEGER NOT NULL,
  priority        INTEGER NOT NULL CHECK (priority IN (5, 10)),
  collapse_id     TEXT,
  collapsed_count INTEGER NOT NULL DEFAULT 0 CHECK (collapsed_count >= 0),
  expires_at      INTEGER,
  data            TEXT    NOT NULL, -- JSON
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'collapsed', 'expired', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  result          TEXT    CHECK (result IN ('newData', 'noData', 'failed')),
  reason          TEXT,
  finished_at     INTEGER,
  task_id         TEXT
);
CREATE INDEX pushes_app_state_seq ON pushes (app_id, state, seq);
CREATE INDEX pushes_state_seq ON pushes (state, seq);

CREATE TABLE notifications (
  notification_id TEXT    NOT NULL PRIMARY KEY,
  app_id          TEXT    NOT NULL,
  posted_at       INTEGER NOT NULL,
  title           TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  thread_id       TEXT,
  actions         TEXT    NOT NULL, -- JSON array of {id, title}
  state           TEXT    NOT NULL CHECK (state IN ('posted', 'actioned', 'dismissed')),
  action_id       TEXT,
  acted_at        INTEGER,
  handed_at       INTEGER,
  desktop         TEXT
);
CREATE INDEX notifications_posted ON notifications (posted_at);
CREATE INDEX notifications_app_posted ON notifications (app_id, posted_at);
`;
