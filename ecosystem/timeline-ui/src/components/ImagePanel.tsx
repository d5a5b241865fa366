import { useRef, useState, type DragEvent } from 'react';
import { withToken, type Workspace } from '../api';
import { useCanEdit, useStore, useStoreState } from '../state';

/** The shot's picture: drop or pick a file; it uploads with progress and shows as a thumbnail (a viewer only sees it). */
export function ImagePanel({ workspace }: { workspace: Workspace }) {
  const store = useStore();
  const upload = useStoreState((s) => s.uploads[workspace.id]);
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const editable = useCanEdit();
  const serverUrl = workspace.image_url ? withToken(workspace.image_url) : undefined;
  const src = upload?.busy ? upload.preview : (serverUrl ?? upload?.preview);

  const pick = (files: FileList | null) => {
    const file = files?.[0];
    if (file) void store.upload(workspace.id, file);
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    pick(event.dataTransfer.files);
  };

  return (
    <div
      className={`image-panel${over ? ' drag-over' : ''}${src ? ' has-image' : ''}`}
      data-testid="image-panel"
      onDragOver={(e) => {
        if (editable && e.dataTransfer.types.includes('Files')) {
          e.preventDefault();
          setOver(true);
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={editable ? onDrop : undefined}
    >
      {src ? (
        <img className="thumbnail" src={src} alt={`Picture of ${workspace.title || 'this shot'}`} data-testid="thumbnail" />
      ) : (
        <div className="image-empty">
          <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
            <path
              fill="currentColor"
              d="M19 5H5a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2Zm0 12H5l3.5-4.5 2.5 3 3.5-4.5L19 17ZM8 10.5A1.5 1.5 0 1 1 8 7.5a1.5 1.5 0 0 1 0 3Z"
            />
          </svg>
          {editable ? (
            <>
              <span>Drop a picture here</span>
              <span className="muted small">PNG, JPEG or WebP</span>
            </>
          ) : (
            <span>No picture yet</span>
          )}
        </div>
      )}
      {editable && (
        <button type="button" className="btn btn-overlay btn-small image-pick" onClick={() => input.current?.click()}>
          {src ? 'Replace' : 'Choose file'}
        </button>
      )}
      <input
        ref={input}
        type="file"
        accept="image/png,image/jpeg,image/webp"
        hidden
        disabled={!editable}
        data-testid="image-input"
        onChange={(e) => {
          pick(e.target.files);
          e.target.value = '';
        }}
      />
      {upload?.busy && (
        <div className="upload-progress" data-testid="upload-progress">
          <div className="progress">
            <div className="progress-bar" style={{ width: `${Math.round(upload.progress * 100)}%` }} />
          </div>
          <span>Uploading {Math.round(upload.progress * 100)}%</span>
        </div>
      )}
      {upload?.error && (
        <div className="image-error" role="alert" data-testid="upload-error">
          <span>{upload.error}</span>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => store.clearUploadError(workspace.id)}>
            Dismiss
          </button>
        </div>
      )}
    </div>
  );
}
