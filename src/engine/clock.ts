// The engine's view of time: the interfaces are defined in src/shared/clock.ts (beside the real clock) and
// taken here as types only, so the engine stays pure and its modules keep importing './clock.js'.
export type { Clock, Disposable } from '../shared/clock.js';
