import {
  closestCenter,
  DndContext,
  KeyboardSensor,
  PointerSensor,
  useSensor,
  useSensors,
  type DragEndEvent,
} from '@dnd-kit/core';
import { arrayMove, horizontalListSortingStrategy, SortableContext, sortableKeyboardCoordinates } from '@dnd-kit/sortable';
import { Fragment } from 'react';
import { useCanEdit, useStore, useStoreState } from '../state';
import { GhostCard, WorkspaceCard } from './WorkspaceCard';

/** The cards side by side in timeline order; drag (mouse, touch or keyboard) to reorder, "+" to insert (not for a viewer). */
export function Timeline() {
  const store = useStore();
  const order = useStoreState((s) => s.timeline.order);
  const loaded = useStoreState((s) => s.timeline.loaded);
  const ghosts = useStoreState((s) => s.ghosts);
  const editable = useCanEdit();
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 6 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );

  const onDragEnd = ({ active, over }: DragEndEvent) => {
    if (!editable || !over || active.id === over.id) return;
    const from = order.indexOf(String(active.id));
    const to = order.indexOf(String(over.id));
    if (from < 0 || to < 0) return;
    void store.reorder(arrayMove(order, from, to));
  };

  const empty = <div className="timeline-empty muted">No shots on this timeline yet.</div>;
  const ghostsAt = (position: number) => ghosts.filter((g) => Math.min(g.position, order.length) === position);

  return (
    <main className="timeline" data-testid="timeline" aria-label="Timeline">
      {!loaded && order.length === 0 && ghosts.length === 0 ? (
        <div className="timeline-empty muted">Loading the timeline…</div>
      ) : (
        <DndContext
          sensors={sensors}
          collisionDetection={closestCenter}
          onDragEnd={onDragEnd}
          accessibility={{
            screenReaderInstructions: {
              draggable: 'To pick up a shot, press space or enter. Use the left and right arrow keys to move it. Press space or enter again to drop it, or escape to cancel.',
            },
          }}
        >
          <SortableContext items={order} strategy={horizontalListSortingStrategy}>
            <div className="track">
              {order.map((id, index) => (
                <Fragment key={id}>
                  {index > 0 && editable && <InsertButton position={index} />}
                  {ghostsAt(index).map((g) => (
                    <GhostCard key={g.key} />
                  ))}
                  <WorkspaceCard id={id} index={index} />
                </Fragment>
              ))}
              {ghostsAt(order.length).map((g) => (
                <GhostCard key={g.key} />
              ))}
              {editable ? (
                <button type="button" className="add-card" data-testid="add-card" onClick={() => void store.create()}>
                  <span className="plus" aria-hidden="true">+</span>
                  <span>{order.length === 0 ? 'Add your first shot' : 'Add shot'}</span>
                </button>
              ) : (
                order.length === 0 && empty
              )}
            </div>
          </SortableContext>
        </DndContext>
      )}
    </main>
  );
}

function InsertButton({ position }: { position: number }) {
  const store = useStore();
  return (
    <div className="insert">
      <button
        type="button"
        className="insert-btn"
        aria-label={`Insert a shot at position ${position + 1}`}
        title="Insert a shot here"
        data-testid={`insert-${position}`}
        onClick={() => void store.create(position)}
      >
        +
      </button>
    </div>
  );
}
