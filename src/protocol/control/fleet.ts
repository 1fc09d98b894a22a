/**
 * The control commands that show the fleet (`bgtasks nodes`, `pending --fleet`, `history --fleet`,
 * `why --fleet`). A daemon on SQLite has no fleet and refuses them with `notFleet`.
 */
import { z } from 'zod';
import type { FleetExplanation, nodeState } from '../../engine/fleetExplain.js';
import type { Explanation } from '../../engine/explain.js';
import type { TaskRun } from '../../engine/types.js';
import type { FleetRequest, NodeInfo } from '../../store/fleet.js';
import { NODE_ID_PATTERN, NODE_ID_RULE } from '../identifiers.js';
import { appIdSchema, identifierSchema } from '../identifiers.js';
import { appIdentifierArgs, limitSchema, noArgs } from './args.js';
import { controlCommand } from './spec.js';

/** A node with its state now, the time since its last heartbeat, and whether it is this node. */
export type NodeView = NodeInfo & {
  readonly state: ReturnType<typeof nodeState>;
  readonly alive: boolean;
  readonly heartbeatAgeMs: number;
  readonly self: boolean;
};
/** A pending request with where it is: `nodeId` null for the pool, `heldBy` the node that claimed it. */
export type FleetRequestView = Omit<FleetRequest['request'], 'placement'> & {
  readonly placement: 'device' | 'any';
  readonly nodeId: string | null;
  readonly heldBy: string | null;
};
/** A run with the node that ran it. */
export type FleetRunView = TaskRun & { readonly nodeId: string };

/** Each pending request of the identifier in the fleet, explained; and this node's view when it holds one. */
export interface FleetWhyResult {
  readonly appId: string;
  readonly identifier: string;
  readonly at: number;
  /** This node. */
  readonly nodeId: string;
  readonly summary: string;
  readonly requests: readonly FleetExplanation[];
  readonly running: readonly FleetRunView[];
  readonly lastRun: FleetRunView | null;
  /** What this node's scheduler says, when this node holds the request. */
  readonly local: Explanation | null;
}

const nodeIdSchema = z.string().regex(NODE_ID_PATTERN, `must be a node id: ${NODE_ID_RULE}`);

/** `bgtasks nodes`. */
export const fleetNodes = controlCommand<readonly NodeView[]>()('fleet.nodes', noArgs);
/** `bgtasks pending --fleet`. */
export const fleetPending = controlCommand<readonly FleetRequestView[]>()(
  'fleet.pending',
  z.strictObject({ appId: appIdSchema.optional() }),
);
/** `bgtasks history --fleet`. */
export const fleetHistory = controlCommand<readonly FleetRunView[]>()(
  'fleet.history',
  z.strictObject({
    appId: appIdSchema.optional(),
    identifier: identifierSchema.optional(),
    nodeId: nodeIdSchema.optional(),
    limit: limitSchema,
  }),
);
/** `bgtasks why --fleet`. */
export const fleetWhy = controlCommand<FleetWhyResult>()('fleet.why', appIdentifierArgs);
