import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Conditions } from '../../engine/conditions.js';
import { NODE_ID_PATTERN, NODE_ID_RULE, type NodeConditions } from '../../store/fleet.js';
import { readUntrustedFile, MAX_TOKEN_FILE_BYTES } from '../../shared/untrustedFile.js';

/**
 * This machine's node id: the one given, else the one kept in `<home>/node-id`, else a new one (the host
 * name and six random hex digits, so two machines cloned from one image still differ) that is kept
 * there. Keeping it means a restarted daemon is the same node, and finds its own device requests.
 * @throws TypeError naming `nodeId` when the given or kept id is not valid.
 */
export function resolveNodeId(home: string, given: string | undefined): string {
  const file = join(home, 'node-id');
  const id =
    given ??
    (existsSync(file)
      ? readUntrustedFile(file, MAX_TOKEN_FILE_BYTES).trim()
      : `${
          hostname()
            .replace(/[^A-Za-z0-9._-]/g, '-')
            .replace(/^[^A-Za-z0-9]+/, '')
            .slice(0, 50) || 'node'
        }-${randomBytes(3).toString('hex')}`);
  if (!NODE_ID_PATTERN.test(id)) {
    throw new TypeError(
      `Expected \`nodeId\` to be ${NODE_ID_RULE}, got ` +
        `${JSON.stringify(id)}${given === undefined ? ` (from ${file})` : ''}`,
    );
  }
  if (given === undefined && !existsSync(file)) writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/** What a node tells the fleet about its conditions; null where its sensors cannot tell. */
export function nodeConditions(conditions: Conditions): NodeConditions {
  const known = <T extends string>(value: T, yes: T, no: T): boolean | null =>
    value === yes ? true : value === no ? false : null;
  return {
    online: known(conditions.network, 'online', 'offline'),
    unmetered: known(conditions.networkCost, 'unmetered', 'metered'),
    externalPower: known(conditions.power, 'ac', 'battery'),
    lowPowerMode: conditions.lowPowerMode,
    thermal: conditions.thermalState === 'unknown' ? null : conditions.thermalState,
  };
}
