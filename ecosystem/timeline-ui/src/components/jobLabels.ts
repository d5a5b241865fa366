import type { Job } from '../api';

/** What each kind of job is called on the page (PROTOCOL.md 8.3). */
export const KIND_LABEL: Record<string, string> = {
  storyboard: 'Storyboard',
  keyframe: 'Keyframe',
  narration: 'Narration',
  export: 'Export',
  film: 'Film',
};

export const JOB_STATUS_LABEL: Record<Job['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export const JOB_STATUS_TONE: Record<Job['status'], string> = {
  queued: 'busy',
  running: 'busy',
  completed: 'ok',
  failed: 'danger',
  cancelled: 'muted',
};

export function kindLabel(kind: string): string {
  return KIND_LABEL[kind] ?? kind;
}

/** `12.5` -> `0:12`, `75` -> `1:15`. */
export function formatDuration(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
