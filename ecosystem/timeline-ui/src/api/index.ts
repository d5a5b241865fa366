// The typed client of the workspace server protocol (PROTOCOL.md). Import from here, not from the modules.
export * from './protocol';
export { WorkspaceClient } from './client';
export { policyFor, type RequestPolicy } from './policy';
export type {
  ClientOptions,
  ConnectionStatus,
  MessageListener,
  RequestOptions,
  SnapshotListener,
  SocketFactory,
  SocketLike,
  StatusListener,
} from './client';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
export { authHeaders, getToken, setToken, withToken } from './auth';
export { newMessageId } from './ids';
export {
  fetchProjects,
  fetchWorkspaces,
  HttpError,
  uploadAudio,
  uploadErrorMessage,
  uploadImage,
  type AudioUploadResult,
  type ProjectSummary,
  type UploadKind,
  type UploadOptions,
  type UploadResult,
} from './rest';
export { adoptTokenFromLocation, isProjectName, projectFromLocation, projectHref, websocketUrl } from './location';
export { accessOf, canEdit, FULL_ACCESS, isExpired, jwtClaims, type Access, type Role } from './role';
