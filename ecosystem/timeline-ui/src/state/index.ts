export { TimelineStore, describe, EDIT_DEBOUNCE_MS, SAVED_CHIP_MS, type AiState, type Ghost, type StoreOptions, type StoreState, type UploadState } from './store';
export { StoreProvider, useStore, useStoreState } from './useTimeline';
export { saveState, viewOf, type CardEdits, type SaveState } from './edits';
export { changedKeys, FLASH_MS, isFlashing, type Flashes } from './flash';
export { isPatchApplied, isSuggestionApplied } from './suggestions';
export type { Patch, Timeline } from './timeline';
