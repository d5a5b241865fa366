import { withToken, type Workspace } from '../api';
import { useCanEdit, useStore, useStoreState } from '../state';

const STATUS_LABEL: Record<Workspace['video']['status'], string> = {
  idle: 'No video yet',
  queued: 'Queued',
  generating: 'Generating',
  completed: 'Ready',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const STATUS_TONE: Record<Workspace['video']['status'], string> = {
  idle: 'muted',
  queued: 'busy',
  generating: 'busy',
  completed: 'ok',
  failed: 'danger',
  cancelled: 'muted',
};

/** Generate a clip from the picture and the prompt, follow its progress, play it, or cancel it (a viewer: follow and play). */
export function VideoPanel({ workspace, showPlayer }: { workspace: Workspace; showPlayer: boolean }) {
  const store = useStore();
  const connected = useStoreState((s) => s.connection.state === 'open');
  const requestError = useStoreState((s) => s.videoErrors[workspace.id]);
  const editable = useCanEdit();
  const video = workspace.video;
  const running = video.status === 'queued' || video.status === 'generating';
  const prompt = typeof workspace.form_data.prompt === 'string' ? workspace.form_data.prompt.trim() : '';
  const missing = !workspace.image_url ? 'Add a picture to generate a video' : !prompt ? 'Write a prompt to generate a video' : null;
  const progress = Math.max(0, Math.min(100, video.progress ?? 0));

  return (
    <section className="video-panel" data-testid="video-panel" data-status={video.status} aria-label="Video">
      {showPlayer && video.url && (
        <video
          className="video-player"
          data-testid="video-player"
          src={withToken(video.url)}
          poster={workspace.image_url ? withToken(workspace.image_url) : undefined}
          controls
          autoPlay
          muted
          loop
          playsInline
          preload="auto"
        />
      )}
      <div className="video-row">
        <span className={`chip chip-${STATUS_TONE[video.status]}`} data-testid="video-status">
          <span className="dot" aria-hidden="true" />
          {STATUS_LABEL[video.status]}
          {running && video.status === 'generating' ? ` ${progress}%` : ''}
        </span>
        <span className="spacer" />
        {!editable ? null : running ? (
          <button type="button" className="btn btn-ghost btn-small" data-testid="video-cancel" onClick={() => void store.cancel(workspace.id)} disabled={!connected}>
            Cancel
          </button>
        ) : (
          <button
            type="button"
            className="btn btn-primary btn-small"
            data-testid="video-generate"
            onClick={() => void store.generate(workspace.id)}
            disabled={!connected || missing !== null}
            title={missing ?? (connected ? undefined : 'Offline')}
          >
            {video.status === 'idle' ? 'Generate video' : 'Generate again'}
          </button>
        )}
      </div>
      {running && (
        <div
          className={`progress${video.status === 'queued' ? ' indeterminate' : ''}`}
          role="progressbar"
          aria-label="Video progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={progress}
          data-testid="video-progress"
        >
          <div className="progress-bar" style={{ width: `${video.status === 'queued' ? 30 : progress}%` }} />
        </div>
      )}
      {video.status === 'failed' && video.error && (
        <p className="error-text" role="alert" data-testid="video-error">
          {video.error.message} <span className="muted">({video.error.code})</span>
        </p>
      )}
      {requestError && (
        <p className="error-text" role="alert" data-testid="video-request-error">
          {requestError}
        </p>
      )}
      {editable && !running && missing && video.status === 'idle' && <p className="muted small">{missing}.</p>}
    </section>
  );
}
