// The picture of a card: upload it with progress (`POST /api/upload/image`), a local preview while it goes,
// then the stored path and URL on the card. A 401 asks for a token.
import { HttpError, uploadImage } from '../api';
import type { StateCell } from './cell';
import { applyLocal } from './timeline';

export interface UploadState {
  busy: boolean;
  /** 0..1 */
  progress: number;
  /** A local object URL of the picked file while it uploads. */
  preview?: string;
  error?: string;
}

export class UploadActions {
  constructor(private readonly cell: StateCell) {}

  async upload(id: string, file: File): Promise<void> {
    const previous = this.cell.get().uploads[id];
    if (previous?.preview) URL.revokeObjectURL(previous.preview);
    const preview = typeof URL.createObjectURL === 'function' ? URL.createObjectURL(file) : undefined;
    const setUpload = (u: UploadState | undefined) => this.cell.setCard('uploads', id, u);
    setUpload({ busy: true, progress: 0, preview });
    try {
      const result = await uploadImage(file, {
        workspaceId: id,
        project: this.cell.get().project,
        onProgress: (progress) => setUpload({ busy: true, progress, preview }),
      });
      this.cell.setTimeline(applyLocal(this.cell.get().timeline, id, { image_path: result.image_path, image_url: result.image_url }));
      setUpload({ busy: false, progress: 1, preview });
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) this.cell.set({ needsToken: true });
      setUpload({ busy: false, progress: 0, error: error instanceof Error ? error.message : String(error) });
      if (preview) URL.revokeObjectURL(preview);
    }
  }

  clearUploadError(id: string): void {
    this.cell.setCard('uploads', id, undefined);
  }
}
