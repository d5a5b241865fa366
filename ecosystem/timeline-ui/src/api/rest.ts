// REST calls of PROTOCOL.md section 5 that the UI needs (same origin, relative URLs).
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

/** A message a person can act on, for the statuses PROTOCOL.md 5 names for uploads. */
export function uploadErrorMessage(status: number, serverMessage?: string): string {
  switch (status) {
    case 413: {
      const limit = /(\d+) bytes/.exec(serverMessage ?? '')?.[1];
      const mb = limit ? ` (the limit is ${(Number(limit) / 1_048_576).toFixed(1).replace(/\.0$/, '')} MB)` : '';
      return `This picture is too large for the server${mb}. Try a smaller or more compressed file.`;
    }
    case 415:
      return 'Unsupported file type: use a PNG, JPEG or WebP picture.';
    case 400:
      return serverMessage ? `Not an image the server can read: ${serverMessage}` : 'Not an image the server can read.';
    case 401:
      return 'The server needs an access token.';
    case 403:
      return 'Read-only: your access token does not allow uploads here.';
    case 404:
      return 'This shot no longer exists.';
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
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/upload/image');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) options.onProgress?.(event.loaded / event.total);
    };
    xhr.onload = () => {
      const body = xhr.response as { error?: { code?: string; message?: string } } | UploadResult | null;
      if (xhr.status === 201 || xhr.status === 200) {
        options.onProgress?.(1);
        resolve(body as UploadResult);
        return;
      }
      const error = body && 'error' in body ? body.error : undefined;
      reject(new HttpError(xhr.status, error?.code ?? 'http_error', uploadErrorMessage(xhr.status, error?.message)));
    };
    xhr.onerror = () => reject(new HttpError(0, 'network', uploadErrorMessage(0)));
    xhr.onabort = () => reject(new HttpError(0, 'aborted', 'Upload cancelled.'));
    options.signal?.addEventListener('abort', () => xhr.abort());
    const form = new FormData();
    form.append('image', file, file instanceof File ? file.name : 'image');
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

