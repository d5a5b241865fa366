// Undo and redo in this tab (the steps: undo.ts). Every confirmed update of this tab (typing, an applied AI
// suggestion, a restore) is recorded; undo sends the step's `before` values through the save pipeline as an
// ordinary `workspace.update`, so other tabs see it, the history keeps it, and nothing is lost. Before a step is
// taken every draft is sent and every update in flight settled: the burst typed a moment ago is the step undone.
import type { StateCell } from './cell';
import type { SavePipeline } from './saving';
import type { Patch } from './timeline';
import { COALESCE_MS, emptyStacks, forgetCard, record, takeRedo, takeUndo, type UndoStacks } from './undo';

export interface UndoOptions {
  /** True (and the store says why) when the tab's token may not change the timeline. */
  readOnly: () => boolean;
  coalesceMs?: number;
}

export class UndoActions {
  private stacks: UndoStacks = emptyStacks;
  /** Undo/redo requests run one after the other, in the order they were asked for. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly cell: StateCell,
    private readonly saving: SavePipeline,
    private readonly options: UndoOptions,
  ) {}

  /** A confirmed change of this tab. */
  record(id: string, before: Patch, after: Patch, at: number): void {
    this.update(record(this.stacks, { workspaceId: id, before, after, at }, this.options.coalesceMs ?? COALESCE_MS));
  }

  undo(): Promise<void> {
    return this.enqueue('undo');
  }

  redo(): Promise<void> {
    return this.enqueue('redo');
  }

  /** A deleted card: its steps go. */
  forget(id: string): void {
    this.update(forgetCard(this.stacks, id));
  }

  private enqueue(kind: 'undo' | 'redo'): Promise<void> {
    this.queue = this.queue.then(() => this.apply(kind));
    return this.queue;
  }

  private async apply(kind: 'undo' | 'redo'): Promise<void> {
    if (this.options.readOnly()) return;
    if (this.cell.get().connection.state !== 'open') {
      this.cell.set({ notice: `Nothing to ${kind} while offline: try again when the connection is back.` });
      return;
    }
    await this.saving.settleAll();
    const taken = kind === 'undo' ? takeUndo(this.stacks) : takeRedo(this.stacks);
    if (!taken) return;
    this.update(taken.stacks);
    const { workspaceId, before, after } = taken.step;
    if (!this.cell.get().timeline.byId[workspaceId]) return; // deleted meanwhile
    this.saving.edit(workspaceId, kind === 'undo' ? before : after);
    await this.saving.flush(workspaceId, { record: false });
  }

  private update(stacks: UndoStacks): void {
    if (stacks === this.stacks) return;
    this.stacks = stacks;
    const counts = { undo: stacks.undo.length, redo: stacks.redo.length };
    const now = this.cell.get().undo;
    if (now.undo !== counts.undo || now.redo !== counts.redo) this.cell.set({ undo: counts });
  }
}
