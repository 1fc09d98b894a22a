/** One peer's throughput run, in the same shape for every peer so the suite can print them side by side. */
export interface PeerResult {
  peer: string;
  version: string;
  /** The settings used and what "processed" was timed until, in words. */
  config: string;
  /** How durable a completed job is with the store as it is configured on this machine. */
  durability: string;
  n: number;
  concurrency: number;
  enqueuePerSec: number;
  processPerSec: number;
  /** Ours only: the daemon's CPU time (user + system) per task while it processed, in µs. */
  daemonCpuUsPerTask?: number;
}

export interface ThroughputOptions {
  n: number;
  concurrency: number;
}
