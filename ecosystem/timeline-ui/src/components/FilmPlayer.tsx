import { withToken } from '../api';
import { finishedFilm, useStoreState } from '../state';
import { FilmLinks } from './FilmLinks';
import { formatDuration } from './jobLabels';
import { formatTime } from './labels';

/** The finished film: the result of the newest completed export or film job, playing in the page, with its downloads. */
export function FilmPlayer() {
  const film = useStoreState((s) => finishedFilm(s.jobs.list));
  const supported = useStoreState((s) => s.features.includes('jobs'));
  if (!supported && !film) return null;
  const result = film?.result ?? {};
  const url = typeof result.url === 'string' ? result.url : null;
  return (
    <section className="studio-panel film-panel" aria-label="Your film" data-testid="film-panel">
      <header className="studio-head">
        <h2>Your film</h2>
        {film && (
          <span className="muted small" data-testid="film-meta">
            {[
              formatDuration(result.duration_s),
              typeof result.shots === 'number' ? `${result.shots} ${result.shots === 1 ? 'shot' : 'shots'}` : '',
              formatTime(film.finished_at ?? film.updated_at),
            ]
              .filter(Boolean)
              .join(' · ')}
          </span>
        )}
      </header>
      {film && url ? (
        <>
          <video
            key={url}
            className="film-player"
            data-testid="film-player"
            src={withToken(url)}
            controls
            playsInline
            preload="auto"
          />
          <FilmLinks job={film} />
        </>
      ) : (
        <p className="muted small film-empty">No film yet: write a story and press “Make my film”, or export the timeline.</p>
      )}
    </section>
  );
}
