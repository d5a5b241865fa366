export interface BackoffOptions {
  /** First delay, before jitter. */
  initialMs: number;
  /** Upper bound of the delay, before jitter. */
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000, factor: 2 };

/**
 * Delay before reconnect attempt number `attempt` (0-based): exponential growth, capped, with "equal jitter"
 * (half fixed, half random) so that many tabs dropped together do not come back in lockstep.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * options.factor ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
