// How each kind of request is confirmed and retried (PROTOCOL.md 3): creates, updates, deletes, reorders and
// lists are re-sent with the same id; generate, cancel and AI questions are not (that would render or ask twice).
import type { ClientMessageType } from './protocol';

/** How one kind of request is confirmed and retried. */
export interface RequestPolicy {
  /** Re-send (same id) after a timeout and after a reconnect; queue while offline. */
  retry: boolean;
  /** Wait this long for the final reply; for streamed replies, the wait restarts on every partial reply. */
  timeoutMs: number;
}

/** Errors after which nothing was changed and the same message may simply be sent again later. */
export const TRANSIENT_ERRORS: ReadonlySet<string> = new Set(['rate_limited', 'unavailable']);

export function policyFor(type: ClientMessageType, confirmTimeoutMs: number): RequestPolicy {
  switch (type) {
    case 'video.generate':
    case 'video.cancel':
    case 'job.start': // re-sent, it would start a second job
    case 'job.cancel':
    case 'workspace.restore': // an explicit action: offline it fails at once instead of landing later
      return { retry: false, timeoutMs: Math.max(confirmTimeoutMs, 15_000) };
    case 'ai.suggest':
      return { retry: false, timeoutMs: Math.max(confirmTimeoutMs, 60_000) };
    case 'auth.refresh':
      // A new socket opens with the token of the moment anyway: a refresh is never queued for it.
      return { retry: false, timeoutMs: confirmTimeoutMs };
    default:
      return { retry: true, timeoutMs: confirmTimeoutMs };
  }
}
