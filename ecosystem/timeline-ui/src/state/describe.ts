// A failed request in words for the page: the client's own failure codes get a sentence, the server's errors
// keep their message.
import { RequestError } from '../api';

/** What a refused change (`forbidden`, REST 403) says. */
export const READ_ONLY = 'Read-only: your access token lets you view this timeline, not change it.';

export function describe(error: unknown): string {
  if (error instanceof RequestError) {
    switch (error.code) {
      case 'offline':
        return 'You are offline: try again when the connection is back.';
      case 'timeout':
        return 'The server did not confirm in time.';
      case 'disconnected':
        return 'The connection dropped before the server answered.';
      case 'forbidden':
        return READ_ONLY;
      default:
        return error.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
