import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';

interface Props {
  error: unknown;
  /** Runs the failed action again; the button is disabled while a 429's Retry-After counts down. */
  onRetry?: () => void;
  onDismiss?: () => void;
}

/** An API error as the server said it, with Retry; a 429 counts down its Retry-After first. */
export function ErrorAlert({ error, onRetry, onDismiss }: Props) {
  const api = error instanceof ApiError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const [left, setLeft] = useState(api?.status === 429 ? api.retryAfterSeconds ?? 1 : 0);
  useEffect(() => {
    setLeft(api?.status === 429 ? api.retryAfterSeconds ?? 1 : 0);
  }, [error]);
  useEffect(() => {
    if (left <= 0) return;
    const t = setTimeout(() => setLeft((n) => n - 1), 1000);
    return () => clearTimeout(t);
  }, [left]);
  const title = api?.status === 429 ? 'Too many requests' : api?.status ? `Error ${api.status}` : 'Error';
  return (
    <div class="alert" role="alert">
      <div>
        <strong>{title}{api?.code ? ` (${api.code})` : ''}:</strong> {message}
        {left > 0 && <p class="countdown" aria-live="polite">You can retry in <span data-testid="countdown">{left}</span> s.</p>}
      </div>
      <div class="alert-actions">
        {onRetry && <button type="button" onClick={onRetry} disabled={left > 0}>Retry</button>}
        {onDismiss && <button type="button" class="secondary" onClick={onDismiss}>Dismiss</button>}
      </div>
    </div>
  );
}
