import { useEffect } from 'react';
import type { TimelineStore } from '../state';

/** The card (`data-id` of a card; the drawer of one) and the shared field (`data-field`) an element is in. */
function placeOf(element: Element | null): { card: string | null; field: string | null } {
  const drawer = element?.closest<HTMLElement>('.history-drawer[data-card]');
  if (drawer) return { card: drawer.dataset.card ?? null, field: null };
  const card = element?.closest<HTMLElement>('[data-testid="card"][data-id]');
  if (!card) return { card: null, field: null };
  return { card: card.dataset.id ?? null, field: element?.closest<HTMLElement>('[data-field]')?.dataset.field ?? null };
}

/**
 * Tells presence where the user is: the card and field that take the focus, or a card clicked; clicking outside
 * every card leaves them all. Focus leaving the page's controls keeps the card but not the field.
 */
export function usePresenceFocus(store: TimelineStore): void {
  useEffect(() => {
    const presence = store.collab.presence;
    const onFocusIn = (event: FocusEvent) => {
      const { card, field } = placeOf(event.target as Element);
      presence.focus(card, field);
    };
    const onFocusOut = (event: FocusEvent) => {
      if (event.relatedTarget) return; // a focusin follows
      setTimeout(() => {
        const active = document.activeElement;
        if (active && active !== document.body) return;
        presence.focus(presence.where.workspaceId, null);
      }, 0);
    };
    const onPointerDown = (event: PointerEvent) => {
      const target = event.target as Element;
      if (target.closest?.('[data-field]')) return; // its focusin says it
      presence.focus(placeOf(target).card, null);
    };
    document.addEventListener('focusin', onFocusIn);
    document.addEventListener('focusout', onFocusOut);
    document.addEventListener('pointerdown', onPointerDown);
    return () => {
      document.removeEventListener('focusin', onFocusIn);
      document.removeEventListener('focusout', onFocusOut);
      document.removeEventListener('pointerdown', onPointerDown);
    };
  }, [store]);
}
