// REST calls of PROTOCOL.md sections 5 and 8.4 that the UI needs (same origin, relative URLs).
import { authHeaders } from './auth';
import type { Workspace } from './protocol';

export interface UploadResult {
  image_path: string;
  image_url: string;
  content_type: string;
  width: number;
  height: number;
  size: number;
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
  }
}

/** What was uploaded: a picture (`POST /api/upload/image`) or a sound (`POST /api/upload/audio`, PROTOCOL.md 8.4). */
export type UploadKind = 'image' | 'audio';

/** A message a person can act on, for the statuses PROTOCOL.md 5 and 8.4 name for uploads. */
export function uploadErrorMessage(status: number, serverMessage?: string, kind: UploadKind = 'image'): string {
  const what = kind === 'image' ? 'picture' : 'sound file';
  switch (status) {
    case 413: {
      const limit = /(\d+) bytes/.exec(serverMessage ?? '')?.[1];
      const mb = limit ? ` (the limit is ${(Number(limit) / 1_048_576).toFixed(1).replace(/\.0$/, '')} MB)` : '';
      return `This ${what} is too large for the server${mb}. Try a smaller or more compressed file.`;
    }
    case 415:
      return kind === 'image'
        ? 'Unsupported file type: use a PNG, JPEG or WebP picture.'
        : 'Unsupported file type: use MP3, WAV, OGG/Opus, FLAC or M4A/AAC audio.';
    case 400: {
      const noun = kind === 'image' ? 'an image' : 'a sound file';
      return serverMessage ? `Not ${noun} the server can read: ${serverMessage}` : `Not ${noun} the server can read.`;
    }
    case 401:
      return 'The server needs an access token.';
    case 403:
      return 'Read-only: your access token does not allow uploads here.';
    case 404:
      return kind === 'image' ? 'This shot no longer exists.' : 'Upload failed: the server has no audio upload (404).';
    case 0:
      return 'Upload failed: the server could not be reached.';
    default:
      return serverMessage ? `Upload failed (${status}): ${serverMessage}` : `Upload failed (${status}).`;
  }
}

export interface UploadOptions {
  workspaceId?: string;
  project?: string;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** `POST /api/upload/image` with upload progress (XMLHttpRequest: fetch has no upload progress). */
export function uploadImage(file: Blob, options: UploadOptions = {}): Promise<UploadResult> {
  return postFile<UploadResult>('image', file, options);
}

export interface AudioUploadResult {
  /** `uploads/<name>`: what the export's `music` param takes. */
  audio_path: string;
  audio_url: string;
  content_type: string;
  duration_s: number | null;
  size: number;
}

/** `POST /api/upload/audio` (PROTOCOL.md 8.4), with upload progress. */
export function uploadAudio(file: Blob, options: Omit<UploadOptions, 'workspaceId'> = {}): Promise<AudioUploadResult> {
  return postFile<AudioUploadResult>('audio', file, options);
}

/** A multipart upload of `file` as field `kind` to `/api/upload/<kind>`. */
function postFile<T>(kind: UploadKind, file: Blob, options: UploadOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/upload/${kind}`);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) options.onProgress?.(event.loaded / event.total);
    };
    xhr.onload = () => {
      const body = xhr.response as { error?: { code?: string; message?: string } } | T | null;
      if (xhr.status === 201 || xhr.status === 200) {
        options.onProgress?.(1);
        resolve(body as T);
        return;
      }
      const error = body && typeof body === 'object' && 'error' in body ? body.error : undefined;
      reject(new HttpError(xhr.status, error?.code ?? 'http_error', uploadErrorMessage(xhr.status, error?.message, kind)));
    };
    xhr.onerror = () => reject(new HttpError(0, 'network', uploadErrorMessage(0, undefined, kind)));
    xhr.onabort = () => reject(new HttpError(0, 'aborted', 'Upload cancelled.'));
    options.signal?.addEventListener('abort', () => xhr.abort());
    const form = new FormData();
    form.append(kind, file, file instanceof File ? file.name : kind);
    if (options.workspaceId) form.append('workspace_id', options.workspaceId);
    if (options.project) form.append('project', options.project);
    xhr.send(form);
  });
}

/** `GET /api/workspaces?project=`. */
export async function fetchWorkspaces(project: string): Promise<Workspace[]> {
  const res = await fetch(`/api/workspaces?project=${encodeURIComponent(project)}`, { headers: authHeaders() });
  if (!res.ok) throw new HttpError(res.status, 'http_error', `GET /api/workspaces: ${res.status}`);
  const body = (await res.json()) as { workspaces: Workspace[] };
  return body.workspaces;
}


/** One timeline of `GET /api/projects` (PROTOCOL.md 8.4). */
export interface ProjectSummary {
  name: string;
  shots: number;
  updated_at: string | null;
}

/** `GET /api/projects`: the timelines, most recently changed first (with per-project tokens: those it names). */
export async function fetchProjects(): Promise<ProjectSummary[]> {
  const res = await fetch('/api/projects', { headers: authHeaders() });
  if (!res.ok) throw new HttpError(res.status, 'http_error', `GET /api/projects: ${res.status}`);
  const body = (await res.json()) as { projects: ProjectSummary[] };
  return body.projects;
}
