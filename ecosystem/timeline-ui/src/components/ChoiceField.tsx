import { useId, useState, type ReactNode } from 'react';
import { flashProps } from './flash';
import { humanize } from './labels';

const CUSTOM = '__custom__';

interface Props {
  label: string;
  name: string;
  value: string;
  options: readonly string[];
  onChange: (value: string | null) => void;
  /** Another tab just changed it. */
  flash?: boolean;
  /** Shown beside the field (who else is editing it). */
  extra?: ReactNode;
}

/** A select of the recommended values that also takes free text ("Custom…"). */
export function ChoiceField({ label, name, value, options, onChange, flash = false, extra }: Props) {
  const id = useId();
  const known = value === '' || options.includes(value);
  const [customMode, setCustomMode] = useState(false);
  const showText = customMode || !known;
  const flashing = flashProps(flash);
  return (
    <div className="field" data-field={name}>
      <label htmlFor={id}>{label}</label>
      {extra}
      <select
        {...flashing}
        id={id}
        name={name}
        data-testid={`field-${name}`}
        value={showText ? CUSTOM : value}
        onChange={(e) => {
          const next = e.target.value;
          if (next === CUSTOM) {
            setCustomMode(true);
            return;
          }
          setCustomMode(false);
          onChange(next === '' ? null : next);
        }}
      >
        <option value="">—</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {humanize(option)}
          </option>
        ))}
        <option value={CUSTOM}>Custom…</option>
      </select>
      {showText && (
        <input
          {...flashing}
          className={`custom-input${flash ? ' flash' : ''}`}
          aria-label={`${label} (custom)`}
          data-testid={`field-${name}-custom`}
          placeholder="Type your own"
          maxLength={100}
          value={known ? '' : value}
          autoFocus={customMode && known}
          onChange={(e) => onChange(e.target.value === '' ? null : e.target.value)}
        />
      )}
    </div>
  );
}
