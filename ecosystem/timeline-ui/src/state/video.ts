// The video actions of a card: generate (its prompt saved first) and cancel. Progress arrives as
// `video.status_update` events, which the store applies; a refused request leaves its error on the card.
import type { WorkspaceClient } from '../api';
import type { StateCell } from './cell';
import { describe } from './describe';
import type { SavePipeline } from './saving';
import { applyVideo } from './timeline';

export class VideoActions {
  constructor(
    private readonly cell: StateCell,
    private readonly client: WorkspaceClient,
    private readonly saving: SavePipeline,
  ) {}

  private setVideoError(id: string, message: string | undefined): void {
    this.cell.setCard('videoErrors', id, message || undefined);
  }

  async generate(id: string): Promise<void> {
    this.setVideoError(id, undefined);
    await this.saving.flush(id).catch(() => undefined); // the prompt typed just now goes first
    try {
      const reply = await this.client.request({ type: 'video.generate', workspace_id: id });
      this.cell.setTimeline(applyVideo(this.cell.get().timeline, id, reply.video));
    } catch (error) {
      this.setVideoError(id, describe(error));
    }
  }

  async cancel(id: string): Promise<void> {
    this.setVideoError(id, undefined);
    try {
      const reply = await this.client.request({ type: 'video.cancel', workspace_id: id });
      this.cell.setTimeline(applyVideo(this.cell.get().timeline, id, reply.video));
    } catch (error) {
      this.setVideoError(id, describe(error));
    }
  }
}
