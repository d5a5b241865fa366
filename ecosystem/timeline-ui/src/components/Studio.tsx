import { useState } from 'react';
import { useStoreState } from '../state';
import { ExportDialog } from './ExportDialog';
import { FilmPlayer } from './FilmPlayer';
import { JobsPanel } from './JobsPanel';
import { StoryBox } from './StoryBox';

/** Above the timeline: the story, the finished film and the jobs (PROTOCOL.md 8); nothing on a server without jobs. */
export function Studio() {
  const supported = useStoreState((s) => s.features.includes('jobs'));
  const [exporting, setExporting] = useState(false);
  if (!supported) return null;
  return (
    <section className="studio" aria-label="Story to film" data-testid="studio">
      <StoryBox onExport={() => setExporting(true)} />
      <FilmPlayer />
      <JobsPanel />
      {exporting && <ExportDialog onClose={() => setExporting(false)} />}
    </section>
  );
}
