import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { adoptTokenFromLocation, projectFromLocation, websocketUrl, WorkspaceClient } from './api';
import { StoreProvider, TimelineStore } from './state';
import './styles.css';
import './readonly.css';
import './collab.css';
import './film.css';

adoptTokenFromLocation();
const project = projectFromLocation();
const client = new WorkspaceClient({ url: () => websocketUrl(project) });
const store = new TimelineStore({ project, client });
store.start();
window.addEventListener('online', () => store.reconnectNow());
// For the browser tests and for poking around in the console.
(window as unknown as { timeline: TimelineStore }).timeline = store;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoreProvider store={store}>
      <App />
    </StoreProvider>
  </StrictMode>,
);
