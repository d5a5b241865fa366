import { useCanEdit, useStore, useStoreState } from '../state';

const mac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
const MOD = mac ? '⌘' : 'Ctrl+';

/** Undo and redo of this tab's own changes (also Ctrl/Cmd+Z, Shift+Ctrl/Cmd+Z, Ctrl+Y: useUndoKeys.ts). */
export function UndoButtons() {
  const store = useStore();
  const undo = useStoreState((s) => s.undo.undo);
  const redo = useStoreState((s) => s.undo.redo);
  const editable = useCanEdit();
  if (!editable) return null;
  return (
    <div className="undo-buttons" role="group" aria-label="Undo and redo">
      <button
        type="button"
        className="icon-btn"
        aria-label="Undo"
        title={`Undo your last change (${MOD}Z)`}
        disabled={undo === 0}
        onClick={() => void store.collab.undo.undo()}
        data-testid="undo"
      >
        ↶
      </button>
      <button
        type="button"
        className="icon-btn"
        aria-label="Redo"
        title={`Redo (${mac ? '⇧⌘Z' : 'Ctrl+Y'})`}
        disabled={redo === 0}
        onClick={() => void store.collab.undo.redo()}
        data-testid="redo"
      >
        ↷
      </button>
    </div>
  );
}
