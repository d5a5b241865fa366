// Hand-written helpers over the generated protocol types: which reply ends which request, errors, and
// the recommended form values of PROTOCOL.md section 2.
import type {
  AiSuggestion,
  AuthRefreshed,
  ClientMessage,
  ErrorMessage,
  JobListResult,
  JobStatusUpdate,
  Pong,
  ReorderConfirm,
  ServerMessage,
  SyncConfirm,
  VideoStatusUpdate,
  WorkspaceCreated,
  WorkspaceDeleted,
  WorkspaceHistoryResult,
  WorkspaceListResult,
} from './protocol.gen';

export type * from './protocol.gen';
export { PROTOCOL_VERSION } from './protocol.gen';

export type ClientMessageType = ClientMessage['type'];
/** Messages the server answers (`presence.update` has no reply: PROTOCOL.md 10.1; it goes with `send`). */
export type RequestType = Exclude<ClientMessageType, 'presence.update'>;
export type RequestMessage = Exclude<ClientMessage, { type: 'presence.update' }>;
export type RequestOf<T extends RequestType> = Extract<RequestMessage, { type: T }>;
export type ServerMessageType = ServerMessage['type'];
export type MessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;
export type EventOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;

/** The successful reply that completes each request (section 3.1). */
export interface ReplyOf {
  ping: Pong;
  'workspace.list': WorkspaceListResult;
  'workspace.create': WorkspaceCreated;
  'workspace.update': SyncConfirm;
  'workspace.delete': WorkspaceDeleted;
  'workspace.reorder': ReorderConfirm;
  'video.generate': VideoStatusUpdate;
  'video.cancel': VideoStatusUpdate;
  'ai.suggest': AiSuggestion;
  'auth.refresh': AuthRefreshed;
  'job.start': JobStatusUpdate;
  'job.cancel': JobStatusUpdate;
  'job.list': JobListResult;
  'workspace.history': WorkspaceHistoryResult;
  'workspace.restore': SyncConfirm;
}

export const FINAL_REPLY: { [K in RequestType]: ReplyOf[K]['type'] } = {
  ping: 'pong',
  'workspace.list': 'workspace.list_result',
  'workspace.create': 'workspace.created',
  'workspace.update': 'workspace.sync_confirm',
  'workspace.delete': 'workspace.deleted',
  'workspace.reorder': 'workspace.reorder_confirm',
  'video.generate': 'video.status_update',
  'video.cancel': 'video.status_update',
  'ai.suggest': 'ai.suggestion',
  'auth.refresh': 'auth.refreshed',
  'job.start': 'job.status_update',
  'job.cancel': 'job.status_update',
  'job.list': 'job.list_result',
  'workspace.history': 'workspace.history_result',
  'workspace.restore': 'workspace.sync_confirm',
};

export type ErrorCode = ErrorMessage['code'];
/** Client-side failures that never came from the server. */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'offline' | 'closed';

/** A request that failed: an `error` reply from the server, or a client-side reason. */
export class RequestError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  readonly details: unknown;
  constructor(code: ErrorCode | ClientErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.details = details;
  }
}

export const ASPECT_RATIOS = ['16:9', '9:16', '1:1', '4:3', '3:4', '21:9'] as const;

export const CAMERA_MOVEMENTS = [
  'static',
  'push_in',
  'pull_out',
  'pan_left',
  'pan_right',
  'tilt_up',
  'tilt_down',
  'orbit_left',
  'orbit_right',
  'crane_up',
  'crane_down',
  'handheld',
] as const;

export const SHOT_SIZES = [
  'extreme_wide',
  'wide',
  'full',
  'medium',
  'medium_close_up',
  'close_up',
  'extreme_close_up',
  'over_the_shoulder',
  'point_of_view',
] as const;

export const LIGHTING = [
  'natural',
  'golden_hour',
  'blue_hour',
  'overcast',
  'high_key',
  'low_key',
  'soft',
  'hard',
  'backlit',
  'silhouette',
  'neon',
  'candlelight',
  'studio',
] as const;

export const DURATION_RANGE = { min: 1, max: 30 } as const;
