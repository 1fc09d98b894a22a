import type { AppRecord } from '../../../engine/types.js';
import type { SqlContext } from './context.js';

const UPSERT_APP = /* sql */ `
INSERT INTO apps (app_id, dir, launch, permitted_identifiers, background_modes, enabled, credential_hash, installed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (app_id) DO UPDATE SET
  dir = excluded.dir,
  launch = excluded.launch,
  permitted_identifiers = excluded.permitted_identifiers,
  background_modes = excluded.background_modes,
  enabled = excluded.enabled,
  credential_hash = excluded.credential_hash,
  installed_at = excluded.installed_at`;

/** Inserts each app, or replaces every field of the app with the same `appId`. */
export function putApps(ctx: SqlContext, apps: readonly AppRecord[]): void {
  const statement = ctx.statement(UPSERT_APP);
  for (const app of apps) {
    statement.run(
      app.appId,
      app.dir,
      JSON.stringify(app.launch),
      JSON.stringify(app.permittedIdentifiers),
      JSON.stringify(app.backgroundModes),
      app.enabled ? 1 : 0,
      app.credentialHash,
      app.installedAt,
    );
  }
}
