export { TimelineStore, describe, EDIT_DEBOUNCE_MS, type AiState, type Ghost, type StoreOptions, type StoreState, type UploadState } from './store';
export { StoreProvider, useStore, useStoreState } from './useTimeline';
export { saveState, viewOf, type CardEdits, type SaveState } from './edits';
export type { Patch, Timeline } from './timeline';
