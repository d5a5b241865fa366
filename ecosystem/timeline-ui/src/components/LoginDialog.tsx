import { useState, type FormEvent } from 'react';
import { useStore } from '../state';

/** Asks for the server's access token (AUTH_TOKEN); it is kept for this tab only (sessionStorage). */
export function LoginDialog() {
  const store = useStore();
  const [token, setToken] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim()) store.setToken(token.trim());
  };
  return (
    <div className="modal-backdrop">
      <form className="modal" onSubmit={submit} aria-labelledby="login-title" data-testid="login">
        <h2 id="login-title">Sign in to this server</h2>
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
