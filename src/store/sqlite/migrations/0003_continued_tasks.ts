/**
 * Migration 3: continued processing tasks (Apple's BGContinuedProcessingTask). A request or run of kind
 * `continued` keeps its title, subtitle, strategy and required resources (and a run its last progress)
 * as one JSON object; NULL for the other kinds, which is what every older row means.
 *
 * Append-only, like every migration: once released, this text must never change.
 */
export const sql = /* sql */ `
ALTER TABLE requests ADD COLUMN continued TEXT; -- JSON object, or NULL
ALTER TABLE runs ADD COLUMN continued TEXT; -- JSON object, or NULL
`;
