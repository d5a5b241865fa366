import { useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { useMemo, useState } from 'react';
import { isFlashing, saveState, useCanEdit, useStore, useStoreState, viewOf } from '../state';
import { AiPanel } from './AiPanel';
import { FlashAnnouncer, flashProps } from './flash';
import { ImagePanel } from './ImagePanel';
import { KeyframeButton } from './KeyframeButton';
import { CardPeers, FieldPeers } from './PeerBadges';
import { SaveChip } from './SaveChip';
import { ShotForm } from './ShotForm';
import { VideoPanel } from './VideoPanel';

/** One shot on the timeline: picture, video, form and AI, with a drag handle and its own save state (a viewer: read-only). */
export function WorkspaceCard({ id, index }: { id: string; index: number }) {
  const store = useStore();
  const server = useStoreState((s) => s.timeline.byId[id]);
  const edits = useStoreState((s) => s.edits[id]);
  const connected = useStoreState((s) => s.connection.state === 'open');
  const flashes = useStoreState((s) => s.flashes[id]);
  const editable = useCanEdit();
  const workspace = useMemo(() => server && viewOf(server, edits), [server, edits]);
  const [confirming, setConfirming] = useState(false);
  const [pictureTab, setPictureTab] = useState(false);
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({
    id,
    disabled: !editable,
  });
  if (!workspace) return null;
  const save = saveState(edits, connected);
  const hasVideo = workspace.video.status === 'completed' && Boolean(workspace.video.url);
  const showVideo = hasVideo && !pictureTab;
  const name = workspace.title || `Shot ${index + 1}`;

  return (
    <article
      ref={setNodeRef}
      className={`card${isDragging ? ' dragging' : ''}${editable ? '' : ' read-only'}`}
      style={{ transform: CSS.Translate.toString(transform), transition }}
      data-testid="card"
      data-id={id}
      aria-label={name}
    >
      {/* On the card's top edge, outside the header's row: it never takes room from the title. */}
      <SaveChip state={save} error={edits?.error} />
      <CardPeers workspaceId={id} />
      <FlashAnnouncer keys={flashes} />
      <header className="card-header">
        {editable && (
          <button
            type="button"
            ref={setActivatorNodeRef}
            className="drag-handle"
            aria-label={`Move ${name}`}
            data-testid="drag-handle"
            {...attributes}
            {...listeners}
          >
            <svg viewBox="0 0 10 16" width="10" height="16" aria-hidden="true">
              {[2, 8, 14].map((y) => (
                <g key={y}>
                  <circle cx="2" cy={y} r="1.4" fill="currentColor" />
                  <circle cx="8" cy={y} r="1.4" fill="currentColor" />
                </g>
              ))}
            </svg>
          </button>
        )}
        <span className="shot-number" data-testid="shot-number">
          {String(index + 1).padStart(2, '0')}
        </span>
        <input
          {...flashProps(isFlashing(flashes, 'title'))}
          className={`title-input${isFlashing(flashes, 'title') ? ' flash' : ''}`}
          aria-label="Shot title"
          data-testid="field-title"
          data-field="title"
          placeholder={`Shot ${index + 1}`}
          maxLength={200}
          value={workspace.title}
          disabled={!editable}
          onChange={(e) => store.edit(id, { title: e.target.value })}
        />
        <FieldPeers workspaceId={id} field="title" />
        {editable && (
          <button
            type="button"
            className="icon-btn danger"
            aria-label={`Delete ${name}`}
            data-testid="delete"
            onClick={() => setConfirming(true)}
          >
            <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
              <path fill="currentColor" d="M9 3h6l1 2h4v2H4V5h4l1-2Zm-3 6h12l-1 12H7L6 9Zm4 2v8h1.5v-8H10Zm3.5 0v8H15v-8h-1.5Z" />
            </svg>
          </button>
        )}
      </header>
      {confirming && editable && (
        <div className="confirm" role="alertdialog" aria-label="Delete this shot?" data-testid="delete-confirm">
          <span>Delete this shot? This cannot be undone.</span>
          <div className="confirm-actions">
            <button type="button" className="btn btn-ghost btn-small" onClick={() => setConfirming(false)} autoFocus>
              Keep
            </button>
            <button type="button" className="btn btn-danger btn-small" data-testid="delete-confirm-yes" onClick={() => void store.remove(id)}>
              Delete
            </button>
          </div>
        </div>
      )}
      {save === 'error' && edits?.error && (
        <p className="error-text small" role="alert" data-testid="save-error">
          {edits.error}
        </p>
      )}
      {hasVideo && (
        <div className="media-tabs" role="tablist" aria-label="Media">
          <button type="button" role="tab" aria-selected={showVideo} onClick={() => setPictureTab(false)} data-testid="tab-video">
            Video
          </button>
          <button type="button" role="tab" aria-selected={!showVideo} onClick={() => setPictureTab(true)} data-testid="tab-picture">
            Picture
          </button>
        </div>
      )}
      <div className="media-slot" hidden={showVideo}>
        <ImagePanel workspace={workspace} />
      </div>
      <VideoPanel workspace={workspace} showPlayer={showVideo} />
      <KeyframeButton workspace={workspace} />
      <ShotForm workspace={workspace} />
      <AiPanel workspace={workspace} />
    </article>
  );
}

/** A card the server has not confirmed yet (created offline, or on its way). */
export function GhostCard() {
  return (
    <article className="card ghost" data-testid="ghost-card" aria-busy="true">
      <div className="ghost-body">
        <span className="spinner" aria-hidden="true" />
        Adding shot…
      </div>
    </article>
  );
}
