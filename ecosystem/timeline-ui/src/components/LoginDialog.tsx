import { useState, type FormEvent } from 'react';
import { isExpired } from '../api';
import { useStore, useStoreState } from '../state';

/**
 * Asks for the server's access token (AUTH_TOKEN, or a per-project token: PROTOCOL.md 9.1); it is kept for this tab
 * only (sessionStorage). Shown when the server closes the socket with 1008: a wrong token, or one that expired.
 */
export function LoginDialog() {
  const store = useStore();
  const access = useStoreState((s) => s.access);
  const [token, setToken] = useState('');
  const expired = isExpired(access);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim()) store.setToken(token.trim());
  };
  return (
    <div className="modal-backdrop">
      <form className="modal" onSubmit={submit} aria-labelledby="login-title" data-testid="login">
        <h2 id="login-title">Sign in to this server</h2>
        {expired && (
          <p className="error-text" role="alert" data-testid="login-expired">
            Your access token{access.user ? ` (signed in as ${access.user})` : ''} has expired. Enter a new one to continue.
          </p>
        )}
        <p className="muted">
          The server asks for an access token. It is kept in this tab only and sent with every request.
        </p>
        <label className="field">
          <span>Access token</span>
          <input
            type="password"
            autoFocus
            autoComplete="current-password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            data-testid="login-token"
          />
        </label>
        <div className="modal-actions">
          <button type="submit" className="btn btn-primary" disabled={!token.trim()}>
            Connect
          </button>
        </div>
      </form>
    </div>
  );
}
