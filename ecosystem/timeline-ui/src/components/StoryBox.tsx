import { useId, useState } from 'react';
import { isActive, latestJob, useCanEdit, useStore, useStoreState } from '../state';

const STORY_MAX = 20_000;

/** "Write your story": a storyboard of it (shots appended to the timeline), or the whole film at once. */
export function StoryBox({ onExport }: { onExport: () => void }) {
  const store = useStore();
  const editable = useCanEdit();
  const connected = useStoreState((s) => s.connection.state === 'open');
  const supported = useStoreState((s) => s.features.includes('jobs'));
  const starting = useStoreState((s) => s.jobs.starting);
  const errors = useStoreState((s) => s.jobs.errors);
  const storyboarding = useStoreState((s) => {
    const job = latestJob(s.jobs.list, 'storyboard');
    return Boolean(job && isActive(job));
  });
  const filming = useStoreState((s) => {
    const job = latestJob(s.jobs.list, 'film');
    return Boolean(job && isActive(job));
  });
  const shots = useStoreState((s) => s.timeline.order.length);
  const [story, setStory] = useState('');
  const id = useId();
  const can = editable && connected && supported;
  const why = !editable ? 'Read-only' : !connected ? 'Offline' : !supported ? 'This server runs no jobs' : undefined;
  const error = errors.storyboard ?? errors.film;

  return (
    <section className="studio-panel story-box" aria-label="Story" data-testid="story-box">
      <header className="studio-head">
        <label htmlFor={id}>
          <h2>Write your story</h2>
        </label>
      </header>
      <textarea
        id={id}
        data-testid="story-input"
        rows={4}
        maxLength={STORY_MAX}
        placeholder="A red kite climbs over the sea at dawn. The wind carries it over a forest. At night it lands in the city."
        value={story}
        disabled={!editable}
        onChange={(e) => setStory(e.target.value)}
      />
      <div className="story-actions">
        <button
          type="button"
          className="btn btn-small"
          data-testid="storyboard"
          disabled={!can || !story.trim() || Boolean(starting.storyboard) || storyboarding}
          title={why ?? (story.trim() ? 'Turn the story into shots on the timeline' : 'Write a story first')}
          onClick={() => void store.film.storyboard(story)}
        >
          {storyboarding ? 'Storyboarding…' : 'Storyboard'}
        </button>
        <button
          type="button"
          className="btn btn-primary btn-small"
          data-testid="make-film"
          disabled={!can || (!story.trim() && shots === 0) || Boolean(starting.film) || filming}
          title={why ?? (story.trim() || shots ? 'Storyboard, pictures, videos, voices and export, all the way' : 'Write a story first')}
          onClick={() => void store.film.makeFilm(story)}
        >
          {filming ? 'Making the film…' : 'Make my film'}
        </button>
        <span className="spacer" />
        <button
          type="button"
          className="btn btn-ghost btn-small"
          data-testid="export-open"
          aria-haspopup="dialog"
          disabled={!editable}
          title={editable ? 'Choose the export options and export the timeline as one film' : 'Read-only'}
          onClick={onExport}
        >
          Export film…
        </button>
      </div>
      {error && (
        <p className="error-text small" role="alert" data-testid="story-error">
          {error.message}
        </p>
      )}
    </section>
  );
}
