export { TimelineStore, type StoreOptions } from './store';
export { EDIT_DEBOUNCE_MS, SAVED_CHIP_MS } from './saving';
export { describe, READ_ONLY } from './describe';
export type { Ghost, StoreState } from './cell';
export type { AiState } from './ai';
export type { UploadState } from './uploads';
export { StoreProvider, useCanEdit, useStore, useStoreState } from './useTimeline';
export { saveState, viewOf, type CardEdits, type SaveState } from './edits';
export { changedKeys, FLASH_MS, isFlashing, type Flashes } from './flash';
export { isPatchApplied, isSuggestionApplied } from './suggestions';
export type { Patch, Timeline } from './timeline';
export type { Collab } from './collab';
export { listPeers, peersOn, type Peer, type Peers } from './presence';
export { colorFor, type Identity } from './identity';
export { HISTORY_PAGE, type HistoryList } from './history';
export {
  describeJobError,
  finishedFilm,
  isActive,
  isFinal,
  isNewer,
  jobTarget,
  latestJob,
  mergeJobs,
  type JobError,
  type JobKind,
  type JobsState,
  type JobStatus,
} from './jobs';
export { DEFAULT_EXPORT, exportParams, type AspectRatio, type ExportSettings, type FilmState, type MusicTrack, type MusicUpload } from './film';
export type { JobActions } from './jobs';
export type { FilmActions } from './film';
