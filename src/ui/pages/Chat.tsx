import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, postForStream, readEvents } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import type { Service } from '../types';
import { lastRequests } from './snippets';

interface Message {
  role: 'user' | 'assistant';
  content: string;
  /** An assistant reply: still streaming, stopped by the user, or finished (with the server's finish_reason). */
  state?: 'streaming' | 'stopped' | 'done' | 'error';
  finish?: string;
  ttftMs?: number;
  tokensPerSecond?: number;
  tokens?: number;
}

interface Chunk {
  choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }>;
  usage?: { completion_tokens: number };
  error?: unknown;
}

/**
 * Chat with a text-generation service: OpenAI chat completions with
 * `stream: true`, read from fetch's body as it arrives. Stop aborts the request
 * and keeps what came; Regenerate asks again for the last reply. Shows the time
 * to the first token and tokens per second.
 */
export function Chat({ service }: { service: Service }) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState('');
  const [maxTokens, setMaxTokens] = useState('64');
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const controller = useRef<AbortController | null>(null);
  const log = useRef<HTMLOListElement>(null);
  const streaming = messages.some((m) => m.state === 'streaming');

  useEffect(() => () => controller.current?.abort(), []);
  useEffect(() => {
    if (log.current) log.current.scrollTop = log.current.scrollHeight;
  }, [messages]);

  const patchLast = (patch: (m: Message) => Message) => setMessages((ms) => {
    const last = ms[ms.length - 1];
    return last?.role === 'assistant' ? [...ms.slice(0, -1), patch(last)] : ms;
  });

  const generate = async (history: Message[]) => {
    const abort = new AbortController();
    controller.current = abort;
    setError(null);
    setMessages([...history, { role: 'assistant', content: '', state: 'streaming' }]);
    const max = Number(maxTokens);
    const body = {
      model: service.name, stream: true,
      messages: history.map((m) => ({ role: m.role, content: m.content })),
      ...(Number.isInteger(max) && max > 0 ? { max_tokens: max } : {}),
    };
    lastRequests.set(service.id, { path: '/v1/chat/completions', body });
    const sent = performance.now();
    let first: number | undefined;
    let pieces = 0;
    let tokens: number | undefined;
    let finish: string | undefined;
    const stats = () => {
      const ttftMs = first === undefined ? undefined : first - sent;
      const n = tokens ?? pieces;
      // Over the whole request (the first token's wait included): tokens arrive in bursts, so a rate between
      // the first and last token that reached the page says more about the network than about the model.
      const seconds = (performance.now() - sent) / 1000;
      return { ttftMs, tokens: n, tokensPerSecond: n > 0 && seconds > 0 ? n / seconds : undefined };
    };
    try {
      const res = await postForStream('/v1/chat/completions', body, abort.signal);
      await readEvents(res.body!, (data) => {
        if (abort.signal.aborted) return;
        if (data === '[DONE]') return;
        const chunk = JSON.parse(data) as Chunk;
        if (chunk.error) throw new Error(messageOf(chunk).message ?? 'The generation failed.');
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content;
        if (choice?.finish_reason) finish = choice.finish_reason;
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
        if (text) {
          first ??= performance.now();
          pieces++;
          patchLast((m) => ({ ...m, content: m.content + text, ...stats() }));
        }
      });
      if (!abort.signal.aborted) patchLast((m) => ({ ...m, state: 'done', finish, ...stats() }));
    } catch (err) {
      if (abort.signal.aborted) return; // Stop already marked the reply
      patchLast((m) => ({ ...m, state: 'error', ...stats() }));
      setError({ err, retry: () => void generate(history) });
    } finally {
      if (controller.current === abort) controller.current = null;
    }
  };

  const send = (e: Event) => {
    e.preventDefault();
    const text = draft.trim();
    if (text === '' || streaming) return;
    setDraft('');
    void generate([...messages.filter((m) => m.state !== 'error' || m.content !== ''), { role: 'user', content: text }]);
  };
  const stop = () => {
    controller.current?.abort();
    patchLast((m) => (m.state === 'streaming' ? { ...m, state: 'stopped' } : m));
  };
  const regenerate = () => {
    const at = messages.length - 1;
    if (messages[at]?.role !== 'assistant') return;
    void generate(messages.slice(0, at));
  };
  const lastAssistant = messages[messages.length - 1]?.role === 'assistant';

  return (
    <div class="chat">
      <ol class="chat-log" ref={log} aria-label="Conversation" aria-live="polite">
        {messages.length === 0 && <li class="empty">Say something to {service.name}.</li>}
        {messages.map((m, i) => (
          <li key={i} class={`msg msg-${m.role}`} data-state={m.state}>
            <span class="msg-role">{m.role === 'user' ? 'You' : service.name}</span>
            <p class="msg-text" data-testid={m.role === 'assistant' ? 'reply' : undefined}>{m.content}{m.state === 'streaming' && <span class="cursor" aria-hidden="true">▍</span>}</p>
            {m.role === 'assistant' && (
              <p class="msg-meta muted small" data-testid="reply-meta">
                {m.state === 'streaming' ? 'Generating…' : m.state === 'stopped' ? 'Stopped: partial reply kept.' : m.state === 'error' ? 'Failed.' : m.finish === 'length' ? 'Done (max tokens reached).' : 'Done.'}
                {m.ttftMs !== undefined && <> · first token after <span data-testid="ttft">{Math.round(m.ttftMs)}</span> ms</>}
                {m.tokens ? <> · {m.tokens} tokens</> : null}
                {m.tokensPerSecond !== undefined && <> · <span data-testid="tps" title="Tokens over the whole request, the wait for the first one included">{m.tokensPerSecond.toFixed(1)} tokens/s</span></>}
              </p>
            )}
          </li>
        ))}
      </ol>
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      <form onSubmit={send} class="chat-form">
        <div class="field">
          <label for="chat-input">Message</label>
          <textarea id="chat-input" rows={3} value={draft} onInput={(e) => setDraft((e.currentTarget as HTMLTextAreaElement).value)}
            onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) send(e); }} aria-describedby="chat-help" />
          <p id="chat-help" class="muted small">Enter sends, Shift+Enter starts a new line.</p>
        </div>
        <div class="row">
          <label for="chat-max">Max tokens</label>
          <input id="chat-max" type="number" min={1} max={32768} value={maxTokens} onInput={(e) => setMaxTokens((e.currentTarget as HTMLInputElement).value)} class="narrow" />
          {streaming ? <button type="button" class="danger" onClick={stop}>Stop</button> : <button type="submit" disabled={draft.trim() === ''}>Send</button>}
          <button type="button" class="secondary" onClick={regenerate} disabled={streaming || !lastAssistant}>Regenerate</button>
          <button type="button" class="secondary" onClick={() => { setMessages([]); setError(null); }} disabled={streaming || messages.length === 0}>Clear</button>
        </div>
      </form>
    </div>
  );
}
