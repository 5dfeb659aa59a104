import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import type { SessionView, Who } from '../types';

/**
 * The API key is exchanged for an HttpOnly session cookie (POST /api/session):
 * the page never keeps the key, and EventSource, which cannot send headers,
 * is authenticated by the cookie.
 */
export function Login({ onLogin, notice }: { onLogin: (who: Who) => void; notice?: string }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e?: Event) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api<SessionView>('/api/session', { method: 'POST', json: { key: key.trim() }, quiet401: true });
      setKey('');
      onLogin(session.principal!);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const wrongKey = error instanceof ApiError && error.status === 401;
  return (
    <main id="main" class="login">
      <h1>Corral</h1>
      <form onSubmit={submit} class="card">
        <h2>Log in</h2>
        {notice && <p class="notice" role="status">{notice}</p>}
        <p class="muted">Paste an API key. The first start printed the admin key and saved it to <code>~/.corral/admin.key</code>.</p>
        <label for="api-key">API key</label>
        <input id="api-key" name="key" type="password" autocomplete="current-password" required value={key}
          aria-invalid={wrongKey} aria-describedby={wrongKey ? 'key-error' : undefined}
          onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)} />
        {wrongKey && <p id="key-error" class="field-error">{(error as ApiError).message}</p>}
        <button type="submit" disabled={busy || key.trim() === ''}>{busy ? 'Logging in…' : 'Log in'}</button>
        {error !== null && !wrongKey && <ErrorAlert error={error} onRetry={() => void submit()} />}
      </form>
    </main>
  );
}
