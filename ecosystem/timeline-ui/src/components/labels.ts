/** `push_in` -> `Push in`. */
export function humanize(value: string): string {
  const text = value.replaceAll('_', ' ').trim();
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** What the form calls a field key (`title`, `form_data.<key>`). */
const FIELD_LABELS: Record<string, string> = {
  title: 'Title',
  'form_data.prompt': 'Prompt',
  'form_data.negative_prompt': 'Negative prompt',
  'form_data.camera_movement': 'Camera',
  'form_data.shot_size': 'Shot size',
  'form_data.lighting': 'Lighting',
  'form_data.duration_s': 'Seconds',
  'form_data.aspect_ratio': 'Aspect',
  'form_data.narration': 'Narration',
};

/** The labels of the keys the form shows, in the form's order; other keys are left out. */
export function fieldLabels(keys: readonly string[] | undefined): string[] {
  return Object.keys(FIELD_LABELS)
    .filter((key) => keys?.includes(key))
    .map((key) => FIELD_LABELS[key]);
}

/** What the form calls a field: `title`, a form key (`prompt`) or `form_data.<key>`; unknown keys humanized. */
export function fieldLabel(field: string): string {
  const key = field === 'title' || field.startsWith('form_data.') ? field : `form_data.${field}`;
  return FIELD_LABELS[key] ?? humanize(key.replace(/^form_data\./, ''));
}
