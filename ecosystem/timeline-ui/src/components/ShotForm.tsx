import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ASPECT_RATIOS, CAMERA_MOVEMENTS, DURATION_RANGE, LIGHTING, SHOT_SIZES, type Workspace } from '../api';
import { isFlashing, useCanEdit, useStore, useStoreState } from '../state';
import { ChoiceField } from './ChoiceField';
import { flashProps } from './flash';
import { NarrationPanel } from './NarrationPanel';
import { FieldPeers } from './PeerBadges';

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The shot form of one card; every change goes to the store, which sends the changed fields debounced (a viewer's is disabled). */
export function ShotForm({ workspace }: { workspace: Workspace }) {
  const store = useStore();
  const form = workspace.form_data;
  const set = (key: string, value: unknown) => store.edit(workspace.id, { form_data: { [key]: value } });
  const flashes = useStoreState((s) => s.flashes[workspace.id]);
  const flashed = (key: string) => isFlashing(flashes, `form_data.${key}`);
  const disabled = !useCanEdit();
  const promptId = useId();
  const negativeId = useId();
  const aspectId = useId();
  const narrationId = useId();
  const peers = (field: string) => <FieldPeers workspaceId={workspace.id} field={field} />;
  return (
    <>
      <fieldset className="shot-form" disabled={disabled} data-testid="shot-form">
        <div className="field" data-field="prompt">
          <label htmlFor={promptId}>Prompt</label>
          {peers('prompt')}
          <textarea
            {...flashProps(flashed('prompt'))}
            id={promptId}
            data-testid="field-prompt"
            rows={3}
            maxLength={4000}
            placeholder="What happens in this shot?"
            value={text(form.prompt)}
            onChange={(e) => set('prompt', e.target.value === '' ? null : e.target.value)}
          />
        </div>
        <div className="field" data-field="negative_prompt">
          <label htmlFor={negativeId}>Negative prompt</label>
          {peers('negative_prompt')}
          <textarea
            {...flashProps(flashed('negative_prompt'))}
            id={negativeId}
            data-testid="field-negative_prompt"
            rows={2}
            maxLength={4000}
            placeholder="What to avoid"
            value={text(form.negative_prompt)}
            onChange={(e) => set('negative_prompt', e.target.value === '' ? null : e.target.value)}
          />
        </div>
        <div className="field-row two">
          <ChoiceField
            label="Camera"
            name="camera_movement"
            flash={flashed('camera_movement')}
            value={text(form.camera_movement)}
            options={CAMERA_MOVEMENTS}
            onChange={(v) => set('camera_movement', v)}
            extra={peers('camera_movement')}
          />
          <ChoiceField
            label="Shot size"
            name="shot_size"
            flash={flashed('shot_size')}
            value={text(form.shot_size)}
            options={SHOT_SIZES}
            onChange={(v) => set('shot_size', v)}
            extra={peers('shot_size')}
          />
        </div>
        <div className="field-row three">
          <ChoiceField
            label="Lighting"
            name="lighting"
            flash={flashed('lighting')}
            value={text(form.lighting)}
            options={LIGHTING}
            onChange={(v) => set('lighting', v)}
            extra={peers('lighting')}
          />
          <DurationField value={form.duration_s} flash={flashed('duration_s')} onChange={(v) => set('duration_s', v)} extra={peers('duration_s')} />
          <div className="field" data-field="aspect_ratio">
            <label htmlFor={aspectId}>Aspect</label>
            {peers('aspect_ratio')}
            <select
              {...flashProps(flashed('aspect_ratio'))}
              id={aspectId}
              data-testid="field-aspect_ratio"
              value={text(form.aspect_ratio)}
              onChange={(e) => set('aspect_ratio', e.target.value === '' ? null : e.target.value)}
            >
              <option value="">—</option>
              {ASPECT_RATIOS.map((ratio) => (
                <option key={ratio} value={ratio}>
                  {ratio}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="field" data-field="narration">
          <label htmlFor={narrationId}>Narration</label>
          {peers('narration')}
          <textarea
            {...flashProps(flashed('narration'))}
            id={narrationId}
            data-testid="field-narration"
            rows={2}
            maxLength={4000}
            placeholder="What a voice says over this shot"
            value={text(form.narration)}
            onChange={(e) => set('narration', e.target.value === '' ? null : e.target.value)}
          />
        </div>
      </fieldset>
      <NarrationPanel workspace={workspace} />
      <HistoryButton id={workspace.id} />
    </>
  );
}

/** Opens the shot's history drawer (outside the fieldset: a viewer may read the history too). */
function HistoryButton({ id }: { id: string }) {
  const store = useStore();
  const supported = useStoreState((s) => s.features.includes('history'));
  const open = useStoreState((s) => s.historyFor === id);
  if (!supported) return null;
  return (
    <div className="form-tools">
      <button
        type="button"
        className="btn btn-ghost btn-small"
        aria-haspopup="dialog"
        aria-expanded={open}
        onClick={() => (open ? store.collab.history.close() : store.collab.history.open(id))}
        data-testid="history-open"
      >
        History
      </button>
    </div>
  );
}

/** Seconds, 1-30; what is typed is only sent when it is a valid duration (or cleared). */
function DurationField({
  value,
  flash,
  onChange,
  extra,
}: {
  value: unknown;
  flash: boolean;
  onChange: (value: number | null) => void;
  extra?: ReactNode;
}) {
  const id = useId();
  const stored = typeof value === 'number' ? String(value) : '';
  const [textValue, setText] = useState(stored);
  const [focused, setFocused] = useState(false);
  /** What this field sent last: a stored value that is not it came from elsewhere (undo, another tab). */
  const sent = useRef<string | null>(null);
  useEffect(() => {
    if (!focused || stored !== sent.current) setText(stored);
  }, [stored, focused]);
  const parsed = Number(textValue);
  const invalid = textValue !== '' && (!Number.isFinite(parsed) || parsed < DURATION_RANGE.min || parsed > DURATION_RANGE.max);
  return (
    <div className="field" data-field="duration_s">
      <label htmlFor={id}>Seconds</label>
      {extra}
      <input
        {...flashProps(flash)}
        id={id}
        data-testid="field-duration_s"
        type="number"
        inputMode="decimal"
        min={DURATION_RANGE.min}
        max={DURATION_RANGE.max}
        step={0.5}
        value={textValue}
        aria-invalid={invalid}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        onChange={(e) => {
          const next = e.target.value;
          setText(next);
          if (next === '') {
            sent.current = '';
            onChange(null);
          } else {
            const n = Number(next);
            if (Number.isFinite(n) && n >= DURATION_RANGE.min && n <= DURATION_RANGE.max) {
              sent.current = String(n);
              onChange(n);
            }
          }
        }}
      />
      {invalid && <span className="field-hint danger">1 to 30 seconds</span>}
    </div>
  );
}
