import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import { canEdit } from '../api';
import type { StoreState } from './cell';
import type { TimelineStore } from './store';

const StoreContext = createContext<TimelineStore | null>(null);

export function StoreProvider({ store, children }: { store: TimelineStore; children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function useStore(): TimelineStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore outside <StoreProvider>');
  return store;
}

/** A slice of the store's state; `select` must return something stable (a part of the state, a primitive). */
export function useStoreState<T>(select: (state: StoreState) => T): T {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}

/** Whether the tab's token may change the timeline (a viewer's may not: PROTOCOL.md 9.1). */
export function useCanEdit(): boolean {
  return useStoreState((s) => canEdit(s.access));
}
