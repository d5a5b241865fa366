// An AI suggestion counts as applied when the form already has its patch (issue 15 item 12).
import { describe, expect, it } from 'vitest';
import type { AiEntry } from '../../src/api';
import { isPatchApplied, isSuggestionApplied } from '../../src/state';

const entry = (fields: Partial<AiEntry>): AiEntry => ({ role: 'assistant', content: '{}', provider: 'offline', model: 'm', created_at: 'now', ...fields });

describe('isPatchApplied', () => {
  const patch = { camera_movement: 'push_in', shot_size: 'close_up', prompt: 'A lighthouse, cinematic, low key light' };

  it('is true when every key of the patch has its value in the form, other form keys aside', () => {
    expect(isPatchApplied(patch, { ...patch, duration_s: 5, aspect_ratio: '16:9' })).toBe(true);
  });

  it('is false when one value differs or is missing', () => {
    expect(isPatchApplied(patch, { ...patch, shot_size: 'wide' })).toBe(false);
    expect(isPatchApplied(patch, { camera_movement: 'push_in', prompt: patch.prompt })).toBe(false);
    expect(isPatchApplied({ duration_s: 5 }, { duration_s: '5' })).toBe(false);
  });

  it('treats null as "removed" and compares nested values deeply', () => {
    expect(isPatchApplied({ lighting: null }, { prompt: 'x' })).toBe(true);
    expect(isPatchApplied({ lighting: null }, { lighting: 'soft' })).toBe(false);
    expect(isPatchApplied({ refs: { a: [1, 2] } }, { refs: { a: [1, 2] } })).toBe(true);
    expect(isPatchApplied({ refs: { a: [1, 2] } }, { refs: { a: [2, 1] } })).toBe(false);
  });

  it('is false for no patch or an empty one (nothing to apply)', () => {
    expect(isPatchApplied(undefined, {})).toBe(false);
    expect(isPatchApplied(null, {})).toBe(false);
    expect(isPatchApplied({}, { prompt: 'x' })).toBe(false);
  });
});

describe('isSuggestionApplied', () => {
  it('only counts assistant entries with a patch', () => {
    const form = { lighting: 'golden_hour' };
    expect(isSuggestionApplied(entry({ form_data_patch: { lighting: 'golden_hour' } }), form)).toBe(true);
    expect(isSuggestionApplied(entry({ form_data_patch: { lighting: 'low_key' } }), form)).toBe(false);
    expect(isSuggestionApplied(entry({ role: 'user', form_data_patch: { lighting: 'golden_hour' } }), form)).toBe(false);
    expect(isSuggestionApplied(entry({ form_data_patch: null }), form)).toBe(false);
  });
});
