import { useEffect } from 'react';
import type { TimelineStore } from '../state';

const TEXT_INPUTS = new Set(['text', 'search', 'url', 'tel', 'email', 'password', 'number']);

/** A text control whose typing is not a shared field (the AI question, the token dialog): the browser's undo stays. */
function keepsNativeUndo(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const editable =
    target instanceof HTMLTextAreaElement ||
    (target instanceof HTMLInputElement && TEXT_INPUTS.has(target.type)) ||
    target.isContentEditable;
  return editable && !target.closest('[data-field]');
}

/**
 * Ctrl/Cmd+Z undoes this tab's last change, Shift+Ctrl/Cmd+Z and Ctrl+Y redo it, over the protocol (undo.ts). This
 * applies in the shot's own fields too (a field marked `data-field`): there the browser's own undo is replaced, since
 * it only knows that one box and is confused by values other tabs set; the field then shows the restored value.
 */
export function useUndoKeys(store: TimelineStore): void {
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.isComposing || event.altKey || !(event.ctrlKey || event.metaKey)) return;
      const key = event.key.toLowerCase();
      const undo = key === 'z' && !event.shiftKey;
      const redo = (key === 'z' && event.shiftKey) || (key === 'y' && event.ctrlKey && !event.shiftKey && !event.metaKey);
      if ((!undo && !redo) || keepsNativeUndo(event.target)) return;
      event.preventDefault();
      void (undo ? store.collab.undo.undo() : store.collab.undo.redo());
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [store]);
}
