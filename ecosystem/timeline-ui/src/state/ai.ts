// The AI actions of a card: ask (`ai.suggest`, the answer streaming in from `ai.delta`) and apply a suggested
// `form_data_patch` as a normal update. Whether a suggestion is already applied is suggestions.ts.
import type { AiEntry, WorkspaceClient } from '../api';
import type { StateCell } from './cell';
import { describe } from './describe';
import type { SavePipeline } from './saving';
import { appendAi } from './timeline';

export interface AiState {
  busy: boolean;
  /** The answer as it streams in (`ai.delta`). */
  streaming: string;
  /** The question being answered. */
  question?: string;
  error?: string;
}

export class AiActions {
  constructor(
    private readonly cell: StateCell,
    private readonly client: WorkspaceClient,
    private readonly saving: SavePipeline,
    private readonly now: () => number,
  ) {}

  private setAi(id: string, ai: AiState): void {
    this.cell.setCard('ai', id, ai);
  }

  /** Ask the AI about a card; with `apply`, the answer carries a `form_data_patch` the user can apply. */
  async ask(id: string, message: string, apply: boolean): Promise<void> {
    const question = message.trim();
    if (!question) return;
    this.setAi(id, { busy: true, streaming: '', question });
    await this.saving.flush(id).catch(() => undefined); // the form typed just now is what the AI sees
    const asked = new Date(this.now()).toISOString();
    try {
      const reply = await this.client.request(
        { type: 'ai.suggest', workspace_id: id, message: question, apply },
        {
          onPartial: (partial) => {
            if (partial.type !== 'ai.delta') return;
            const ai = this.cell.get().ai[id];
            this.setAi(id, { ...ai, busy: true, streaming: (ai?.streaming ?? '') + partial.delta });
          },
        },
      );
      const user: AiEntry = { role: 'user', content: question, provider: null, model: null, created_at: asked };
      this.cell.setTimeline(appendAi(this.cell.get().timeline, id, [user, reply.suggestion]));
      this.setAi(id, { busy: false, streaming: '' });
    } catch (error) {
      this.setAi(id, { busy: false, streaming: '', question, error: describe(error) });
    }
  }

  /** Send an AI suggestion's `form_data_patch` as a normal update. */
  applySuggestion(id: string, formDataPatch: Record<string, unknown>): Promise<void> {
    this.saving.edit(id, { form_data: formDataPatch });
    return this.saving.flush(id);
  }
}
