import { useEffect, useId, useRef, useState, type ReactNode, type Ref } from 'react';
import { ASPECT_RATIOS } from '../api';
import { isActive, latestJob, useCanEdit, useStore, useStoreState, type ExportSettings } from '../state';
import { FilmLinks } from './FilmLinks';
import { JobProgress } from './JobProgress';
import { MusicField } from './MusicField';

/** The options of PROTOCOL.md 8.3 `export`; starting one shows its progress live until the film is there. */
export function ExportDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const settings = useStoreState((s) => s.film.settings);
  const connected = useStoreState((s) => s.connection.state === 'open');
  const starting = useStoreState((s) => Boolean(s.jobs.starting.export));
  const error = useStoreState((s) => s.jobs.errors.export);
  const editable = useCanEdit();
  const [startedId, setStartedId] = useState<string | null>(null);
  // The export started here, else one already under way (another tab's, or a film's own step).
  const job = useStoreState((s) => {
    const latest = latestJob(s.jobs.list, 'export');
    return s.jobs.list.find((j) => j.id === startedId) ?? (latest && isActive(latest) ? latest : undefined);
  });
  const titleId = useId();
  const first = useRef<HTMLSelectElement>(null);
  const set = (patch: Partial<ExportSettings>) => store.film.setSettings(patch);
  const running = Boolean(job && isActive(job));

  useEffect(() => {
    first.current?.focus();
  }, []);

  const start = async () => {
    const started = await store.film.exportFilm();
    if (started) setStartedId(started.id);
  };

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className="modal export-dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid="export-dialog"
        onKeyDown={(e) => {
          if (e.key === 'Escape') onClose();
        }}
      >
        <h2 id={titleId}>Export film</h2>
        <p className="muted small">The whole timeline, in order, as one MP4 (with subtitles and an OpenTimelineIO file).</p>
        <fieldset className="export-form" disabled={running || !editable}>
          <div className="field-row two">
            <Select label="Resolution" name="resolution" selectRef={first} value={settings.resolution} onChange={(v) => set({ resolution: v as ExportSettings['resolution'] })}>
              <option value="720p">720p</option>
              <option value="1080p">1080p</option>
            </Select>
            <Select label="Aspect ratio" name="aspect_ratio" value={settings.aspect_ratio} onChange={(v) => set({ aspect_ratio: v as ExportSettings['aspect_ratio'] })}>
              <option value="">The first shot’s</option>
              {ASPECT_RATIOS.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </Select>
          </div>
          <div className="field-row three">
            <Select label="Transition" name="transition" value={settings.transition} onChange={(v) => set({ transition: v as ExportSettings['transition'] })}>
              <option value="cut">Cut</option>
              <option value="crossfade">Crossfade</option>
              <option value="fade">Fade through black</option>
            </Select>
            <NumberField
              label="Seconds"
              name="transition_s"
              value={settings.transition_s}
              min={0}
              max={2}
              step={0.1}
              disabled={settings.transition === 'cut'}
              onChange={(v) => set({ transition_s: v })}
            />
            <Select label="FPS" name="fps" value={String(settings.fps)} onChange={(v) => set({ fps: Number(v) as ExportSettings['fps'] })}>
              <option value="24">24</option>
              <option value="25">25</option>
              <option value="30">30</option>
            </Select>
          </div>
          <div className="field-row two">
            <Select label="Shots without video" name="missing" value={settings.missing} onChange={(v) => set({ missing: v as ExportSettings['missing'] })}>
              <option value="still">Show the picture</option>
              <option value="skip">Leave them out</option>
            </Select>
            <Select label="Subtitles" name="subtitles" value={settings.subtitles} onChange={(v) => set({ subtitles: v as ExportSettings['subtitles'] })}>
              <option value="auto">Automatic</option>
              <option value="none">None</option>
              <option value="srt">SRT file</option>
              <option value="burned">Burned in</option>
            </Select>
          </div>
          <label className="check">
            <input type="checkbox" checked={settings.narration} data-testid="export-narration" onChange={(e) => set({ narration: e.target.checked })} />
            Narration under each shot
          </label>
          <MusicField />
        </fieldset>
        {job && (
          <div className="export-status" data-testid="export-status" aria-live="polite">
            <JobProgress job={job} label="Export" />
            {job.status === 'completed' && <FilmLinks job={job} />}
          </div>
        )}
        {error && (
          <p className="error-text small" role="alert" data-testid="export-error">
            {error.message}
          </p>
        )}
        <div className="modal-actions">
          <button type="button" className="btn btn-ghost btn-small" disabled={running} onClick={() => store.film.resetSettings()}>
            Defaults
          </button>
          <span className="spacer" />
          <button type="button" className="btn btn-ghost" onClick={onClose} data-testid="export-close">
            Close
          </button>
          <button
            type="button"
            className="btn btn-primary"
            data-testid="export-start"
            disabled={!editable || !connected || starting || running}
            title={!editable ? 'Read-only' : !connected ? 'Offline' : undefined}
            onClick={() => void start()}
          >
            {running ? 'Exporting…' : 'Start export'}
          </button>
        </div>
      </div>
    </div>
  );
}

function Select({
  label,
  name,
  value,
  onChange,
  children,
  selectRef,
}: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  children: ReactNode;
  selectRef?: Ref<HTMLSelectElement>;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select ref={selectRef} id={id} name={name} data-testid={`export-${name}`} value={value} onChange={(e) => onChange(e.target.value)}>
        {children}
      </select>
    </div>
  );
}

function NumberField({
  label,
  name,
  value,
  min,
  max,
  step,
  disabled,
  onChange,
}: {
  label: string;
  name: string;
  value: number;
  min: number;
  max: number;
  step: number;
  disabled?: boolean;
  onChange: (value: number) => void;
}) {
  const id = useId();
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  const n = Number(text);
  const invalid = text === '' || !Number.isFinite(n) || n < min || n > max;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="number"
        data-testid={`export-${name}`}
        min={min}
        max={max}
        step={step}
        value={text}
        disabled={disabled}
        aria-invalid={invalid}
        onChange={(e) => {
          setText(e.target.value);
          const v = Number(e.target.value);
          if (e.target.value !== '' && Number.isFinite(v) && v >= min && v <= max) onChange(v);
        }}
      />
    </div>
  );
}
