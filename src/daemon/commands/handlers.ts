import type { ControlParsedArgs, ControlResult, HandledControlName } from '../../protocol/control/index.js';

/** What the daemon does with one control command's arguments once its schema (src/protocol/control) passed them. */
export type ControlHandler<N extends HandledControlName> = (
  args: ControlParsedArgs<N>,
) => Promise<ControlResult<N>> | ControlResult<N>;

/** Handlers for some of the control commands, by name; src/daemon/control.ts assembles all of them. */
export type ControlHandlers<N extends HandledControlName = HandledControlName> = {
  readonly [K in N]: ControlHandler<K>;
};
