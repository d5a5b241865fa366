import { useId, useRef } from 'react';
import { useStore, useStoreState } from '../state';
import { formatDuration } from './jobLabels';

/** The film's music track: upload a sound file (`POST /api/upload/audio`), its volume under the film, or remove it. */
export function MusicField() {
  const store = useStore();
  const music = useStoreState((s) => s.film.settings.music);
  const volume = useStoreState((s) => s.film.settings.music_volume);
  const upload = useStoreState((s) => s.film.music);
  const input = useRef<HTMLInputElement>(null);
  const volumeId = useId();
  return (
    <div className="field music-field" data-testid="music-field">
      <span>Music</span>
      <div className="music-row">
        {music ? (
          <span className="music-name" data-testid="music-name" title={music.audio_path}>
            ♪ {music.name}
            {music.duration_s ? <span className="muted"> · {formatDuration(music.duration_s)}</span> : null}
          </span>
        ) : (
          <span className="muted small">{upload?.busy ? `Uploading ${Math.round(upload.progress * 100)}%` : 'None'}</span>
        )}
        <span className="spacer" />
        <button type="button" className="btn btn-ghost btn-small" disabled={upload?.busy} onClick={() => input.current?.click()} data-testid="music-pick">
          {music ? 'Replace' : 'Choose a sound file'}
        </button>
        {music && (
          <button type="button" className="btn btn-ghost btn-small" onClick={() => store.film.clearMusic()} data-testid="music-remove">
            Remove
          </button>
        )}
      </div>
      <input
        ref={input}
        type="file"
        accept="audio/*,.mp3,.wav,.ogg,.opus,.flac,.m4a,.aac"
        hidden
        data-testid="music-input"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) void store.film.uploadMusic(file);
          e.target.value = '';
        }}
      />
      {upload?.busy && (
        <div className="progress" role="progressbar" aria-label="Music upload" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(upload.progress * 100)}>
          <div className="progress-bar" style={{ width: `${Math.round(upload.progress * 100)}%` }} />
        </div>
      )}
      {upload?.error && (
        <p className="error-text small" role="alert" data-testid="music-error">
          {upload.error}
        </p>
      )}
      {music && (
        <label className="range" htmlFor={volumeId}>
          <span className="muted small">Music volume {Math.round(volume * 100)}%</span>
          <input
            id={volumeId}
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={volume}
            data-testid="export-music_volume"
            onChange={(e) => store.film.setSettings({ music_volume: Number(e.target.value) })}
          />
        </label>
      )}
    </div>
  );
}
