import { fieldLabels } from './labels';

export const CHANGED_ELSEWHERE = 'Changed in another tab';

/**
 * Props for a control another tab just changed: the highlight class (its label takes the same colour, see
 * styles.css) and a tooltip saying why.
 */
export function flashProps(on: boolean): { className?: string; title?: string; 'data-flash'?: 'true' } {
  return on ? { className: 'flash', title: CHANGED_ELSEWHERE, 'data-flash': 'true' } : {};
}

/** One polite live region per card naming the fields another tab changed (screen readers). */
export function FlashAnnouncer({ keys }: { keys: readonly string[] | undefined }) {
  const labels = fieldLabels(keys);
  return (
    <span className="sr-only" role="status" aria-live="polite" data-testid="flash-announce">
      {labels.length ? `${labels.join(', ')} changed in another tab` : ''}
    </span>
  );
}
