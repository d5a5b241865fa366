import { withToken, type Job } from '../api';

const str = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/** Download links of a finished film: the MP4, its SRT subtitles (when there are any) and the OpenTimelineIO file. */
export function FilmLinks({ job }: { job: Job }) {
  const result = job.result ?? {};
  const mp4 = str(result.url);
  const srt = str(result.srt_url);
  const otio = str(result.otio_url);
  return (
    <div className="film-links" data-testid="film-links">
      {mp4 && (
        <a className="btn btn-small" href={withToken(mp4)} download data-testid="film-mp4">
          MP4
        </a>
      )}
      {srt && (
        <a className="btn btn-small" href={withToken(srt)} download data-testid="film-srt">
          SRT
        </a>
      )}
      {otio && (
        <a className="btn btn-small" href={withToken(otio)} download data-testid="film-otio" title="OpenTimelineIO, for video editors">
          OTIO
        </a>
      )}
    </div>
  );
}
