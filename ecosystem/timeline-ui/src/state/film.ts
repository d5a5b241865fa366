// From a story to a film (PROTOCOL.md 8.3): the export settings of the "Export film" dialog (which "Make my
// film" uses too), the music track uploaded for it (`POST /api/upload/audio`), and the page's film actions:
// storyboard, make the film, export. The jobs themselves are jobs.ts.
import { HttpError, uploadAudio, type ASPECT_RATIOS, type Job } from '../api';
import type { StateCell } from './cell';
import type { JobActions } from './jobs';

export type AspectRatio = (typeof ASPECT_RATIOS)[number];

export interface MusicTrack {
  /** `uploads/<name>`: the export's `music` param. */
  audio_path: string;
  audio_url: string;
  /** The file's name as picked. */
  name: string;
  duration_s: number | null;
}

export interface ExportSettings {
  resolution: '720p' | '1080p';
  /** '' : the first shot's (the server's default). */
  aspect_ratio: '' | AspectRatio;
  fps: 24 | 25 | 30;
  transition: 'cut' | 'crossfade' | 'fade';
  transition_s: number;
  missing: 'still' | 'skip';
  narration: boolean;
  music: MusicTrack | null;
  music_volume: number;
  /** 'auto': SRT when a shot has narration audio and narration is on, else none (the server's default). */
  subtitles: 'auto' | 'none' | 'srt' | 'burned';
}

/** The defaults of PROTOCOL.md 8.3 `export`. */
export const DEFAULT_EXPORT: ExportSettings = {
  resolution: '720p',
  aspect_ratio: '',
  fps: 24,
  transition: 'cut',
  transition_s: 0.5,
  missing: 'still',
  narration: true,
  music: null,
  music_volume: 0.3,
  subtitles: 'auto',
};

export interface MusicUpload {
  busy: boolean;
  /** 0..1 */
  progress: number;
  error?: string;
}

export interface FilmState {
  settings: ExportSettings;
  music: MusicUpload | null;
}

export const initialFilm: FilmState = { settings: DEFAULT_EXPORT, music: null };

/** The `export` params of the settings: the server's defaults where the settings leave it to the server. */
export function exportParams(settings: ExportSettings): Record<string, unknown> {
  const params: Record<string, unknown> = {
    resolution: settings.resolution,
    fps: settings.fps,
    transition: settings.transition,
    missing: settings.missing,
    narration: settings.narration,
  };
  if (settings.transition !== 'cut') params.transition_s = clamp(settings.transition_s, 0, 2);
  if (settings.aspect_ratio) params.aspect_ratio = settings.aspect_ratio;
  if (settings.music) {
    params.music = settings.music.audio_path;
    params.music_volume = clamp(settings.music_volume, 0, 1);
  }
  if (settings.subtitles !== 'auto') params.subtitles = settings.subtitles;
  return params;
}

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : min;
}

export class FilmActions {
  constructor(
    private readonly cell: StateCell,
    private readonly jobs: JobActions,
  ) {}

  private get state(): FilmState {
    return this.cell.get().film;
  }

  private set(patch: Partial<FilmState>): void {
    this.cell.set({ film: { ...this.state, ...patch } });
  }

  setSettings(patch: Partial<ExportSettings>): void {
    this.set({ settings: { ...this.state.settings, ...patch } });
  }

  resetSettings(): void {
    this.set({ settings: DEFAULT_EXPORT, music: null });
  }

  /** Upload a music track for the film; on success it becomes the export's `music`. */
  async uploadMusic(file: File): Promise<void> {
    this.set({ music: { busy: true, progress: 0 } });
    try {
      const result = await uploadAudio(file, {
        project: this.cell.get().project,
        onProgress: (progress) => this.set({ music: { busy: true, progress } }),
      });
      const music: MusicTrack = { audio_path: result.audio_path, audio_url: result.audio_url, name: file.name, duration_s: result.duration_s };
      this.set({ music: null, settings: { ...this.state.settings, music } });
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) this.cell.set({ needsToken: true });
      this.set({ music: { busy: false, progress: 0, error: error instanceof Error ? error.message : String(error) } });
    }
  }

  clearMusic(): void {
    this.set({ music: null, settings: { ...this.state.settings, music: null } });
  }

  /** Turn the story into shots appended to the timeline (a `storyboard` job). */
  storyboard(story: string): Promise<Job | undefined> {
    return this.jobs.start('storyboard', undefined, { story: story.trim() });
  }

  /** The whole way (a `film` job): a storyboard first when a story is given, then pictures, videos, voices, export. */
  makeFilm(story = ''): Promise<Job | undefined> {
    const text = story.trim();
    return this.jobs.start('film', undefined, { ...(text ? { story: text } : {}), export: exportParams(this.state.settings) });
  }

  /** Export the timeline as it is (an `export` job) with the dialog's settings. */
  exportFilm(): Promise<Job | undefined> {
    return this.jobs.start('export', undefined, exportParams(this.state.settings));
  }
}
