import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { Status } from '../components/Status';
import { time } from '../components/format';
import type { LiveState } from '../live';
import { navigate, type Location } from '../router';
import type { LogLine, Service } from '../types';
import { Chat } from './Chat';
import { Embeddings } from './Embeddings';
import { Keyterms } from './playgrounds/Keyterms';
import { Ocr } from './playgrounds/Ocr';
import { TextClassification } from './playgrounds/TextClassification';
import { TokenClassification } from './playgrounds/TokenClassification';
import { ServiceMetrics } from './ServiceMetrics';
import { lastRequests, snippets } from './snippets';

const TABS = [
  { id: 'playground', label: 'Playground' },
  { id: 'logs', label: 'Logs' },
  { id: 'config', label: 'Config' },
  { id: 'api', label: 'API' },
  { id: 'metrics', label: 'Metrics' },
] as const;
type Tab = (typeof TABS)[number]['id'];

/** One service: tabs for its playground (only while RUNNING), logs, config, API snippets and metrics. */
export function ServiceDetail({ live, location, idOrName, can }: { live: LiveState; location: Location; idOrName: string; can: (scope: string) => boolean }) {
  const service = live.services.get(idOrName) ?? [...live.services.values()].find((s) => s.name === idOrName);
  const running = service?.status === 'RUNNING';
  const asked = location.query.get('tab') as Tab | null;
  // The playground needs a RUNNING service and the infer scope; the metrics tab the metrics scope.
  const enabled = (t: Tab) => (t !== 'playground' || (running && can('infer'))) && (t !== 'metrics' || can('metrics'));
  const tab: Tab = asked && TABS.some((t) => t.id === asked) && enabled(asked) ? asked : enabled('playground') ? 'playground' : 'logs';
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});

  if (!live.loaded) return <section><h1 id="page-title">Service</h1><p role="status">Loading…</p></section>;
  if (!service) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">Service {idOrName}</h1>
        <p class="empty">No service {idOrName} (it may have been deleted). <Link to="/services">All services</Link></p>
      </section>
    );
  }
  // Same path (id or name, as opened), so only the tab changes and the focus stays on the tabs.
  const select = (t: Tab) => navigate(`${location.path}?tab=${t}`, true);
  const onKey = (e: KeyboardEvent) => {
    // Arrow keys move between the enabled tabs (the WAI-ARIA tabs pattern).
    const order = TABS.map((t) => t.id).filter(enabled);
    const at = order.indexOf(tab);
    const next = e.key === 'ArrowRight' ? order[(at + 1) % order.length] : e.key === 'ArrowLeft' ? order[(at - 1 + order.length) % order.length] : e.key === 'Home' ? order[0] : e.key === 'End' ? order[order.length - 1] : undefined;
    if (!next) return;
    e.preventDefault();
    select(next);
    tabRefs.current[next]?.focus();
  };
  const failed = service.status === 'FAILED' || service.status === 'TIMEOUT';

  return (
    <section aria-labelledby="page-title">
      <p class="crumbs"><Link to="/services">Services</Link> /</p>
      <h1 id="page-title">{service.name}</h1>
      <p class="summary">
        <Status state={service.status} /> <span class="muted">{service.task} · {service.runtime} · {service.model} · profile {service.profile} · updated {time(service.updated_at)}</span>
      </p>
      {failed && (
        <div class="alert failed" role="alert">
          <div>
            <strong>{service.status === 'TIMEOUT' ? 'The service ran out of time' : 'The service failed'}:</strong> {service.reason ?? 'no reason given'}
            <LogTail id={service.id} />
          </div>
        </div>
      )}
      <div role="tablist" aria-label="Service" class="tabs" onKeyDown={onKey}>
        {TABS.map((t) => (
          <button key={t.id} type="button" role="tab" id={`tab-${t.id}`} aria-controls={`panel-${t.id}`} aria-selected={tab === t.id}
            tabIndex={tab === t.id ? 0 : -1} disabled={!enabled(t.id)} ref={(el) => { tabRefs.current[t.id] = el; }}
            title={t.id === 'playground' && !running ? 'The playground opens once the service is RUNNING' : undefined}
            onClick={() => select(t.id)}>
            {t.label}
          </button>
        ))}
      </div>
      {!running && <p class="muted small">The playground opens once the service is RUNNING (it is {service.status}).</p>}
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} class="panel">
        {tab === 'playground' && <Playground service={service} />}
        {tab === 'logs' && <Logs service={service} />}
        {tab === 'config' && <Config service={service} />}
        {tab === 'api' && <ApiSnippets service={service} />}
        {tab === 'metrics' && <ServiceMetrics service={service} />}
      </div>
    </section>
  );
}

function Playground({ service }: { service: Service }) {
  if (service.task === 'text-generation') return <Chat service={service} />;
  if (service.task === 'feature-extraction') return <Embeddings service={service} />;
  if (service.task === 'keyterms') return <Keyterms service={service} />;
  if (service.task === 'ocr') return <Ocr service={service} />;
  if (service.task === 'text-classification' || service.task === 'zero-shot-classification') return <TextClassification service={service} />;
  if (service.task === 'token-classification') return <TokenClassification service={service} />;
  if (service.task === 'tensor') return <p>Try it in the <Link to={`/models/${encodeURIComponent(service.name)}/playground`}>tensor playground</Link>.</p>;
  return <p class="empty">No playground for {service.task} yet: the API tab shows how to call it.</p>;
}

/** The last lines of a failed service's log, fetched once. */
function LogTail({ id }: { id: string }) {
  const [lines, setLines] = useState<LogLine[] | null>(null);
  useEffect(() => {
    api<{ lines: LogLine[] }>(`/api/services/${encodeURIComponent(id)}/logs?tail=20`).then((r) => setLines(r.lines), () => setLines([]));
  }, [id]);
  if (!lines || lines.length === 0) return null;
  return (
    <details class="log-tail" open>
      <summary>Last {lines.length} log lines</summary>
      <pre class="log" data-testid="log-tail">{lines.map((l) => `${l.stream}  ${l.text}`).join('\n')}</pre>
    </details>
  );
}

const MAX_LINES = 2000;
const stamp = (t: number) => new Date(t).toLocaleTimeString(undefined, { hour12: false });

/** GET /api/services/<id>/logs?tail=500&follow=1 as server-sent events; a search box filters; Download saves what is kept. */
function Logs({ service }: { service: Service }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [follow, setFollow] = useState(true);
  const [state, setState] = useState<'connecting' | 'live' | 'paused' | 'reconnecting'>('connecting');
  const [search, setSearch] = useState('');
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    if (!follow) { setState('paused'); return; }
    setLines([]);
    setState('connecting');
    const source = new EventSource(`/api/services/${encodeURIComponent(service.id)}/logs?tail=500&follow=1`);
    source.onopen = () => setState('live');
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'paused' : 'reconnecting');
    source.onmessage = (e: MessageEvent<string>) => {
      const line = JSON.parse(e.data) as LogLine;
      setLines((old) => (old.length >= MAX_LINES ? [...old.slice(old.length - MAX_LINES + 1), line] : [...old, line]));
    };
    // A reconnect resends the tail: start over rather than doubling lines.
    source.addEventListener('open', () => setLines([]));
    return () => source.close();
  }, [service.id, follow]);

  useEffect(() => {
    const el = box.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [lines, follow]);

  const needle = search.trim().toLowerCase();
  const shown = needle === '' ? lines : lines.filter((l) => l.text.toLowerCase().includes(needle) || l.stream.includes(needle));
  const text = (ls: LogLine[]) => ls.map((l) => `${new Date(l.t).toISOString()} ${l.stream} ${l.text}`).join('\n');
  const download = () => {
    const url = URL.createObjectURL(new Blob([`${text(lines)}\n`], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${service.name}-logs.txt`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <div class="logs">
      <div class="toolbar">
        <label for="log-search">Search</label>
        <input id="log-search" type="search" value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        <label class="check"><input type="checkbox" checked={follow} onChange={(e) => setFollow((e.currentTarget as HTMLInputElement).checked)} /> Follow</label>
        <button type="button" class="secondary" onClick={download} disabled={lines.length === 0}>Download .txt</button>
        <span class="muted small" role="status">
          {state === 'live' ? 'Following' : state === 'connecting' ? 'Connecting…' : state === 'reconnecting' ? 'Reconnecting…' : 'Paused'} · {needle ? `${shown.length} of ${lines.length}` : lines.length} lines
        </span>
      </div>
      {lines.length === 0 ? <p class="empty">No log lines yet.</p> : (
        <pre class="log" ref={box} tabIndex={0} aria-label={`Log of ${service.name}`} data-testid="log-lines">
          {shown.map((l, i) => <div key={`${l.t}-${i}`} class={`log-line log-${l.stream}`}><span class="muted">{stamp(l.t)} {l.stream.padEnd(6)}</span> {l.text}</div>)}
        </pre>
      )}
    </div>
  );
}

/** The service's fields, as GET /api/services/<id> shows them. */
function Config({ service }: { service: Service }) {
  const [full, setFull] = useState<Service | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    setError(null);
    api<Service>(`/api/services/${encodeURIComponent(service.id)}`).then(setFull, setError);
  };
  useEffect(load, [service.id, service.updated_at]);
  const s = { ...service, ...full };
  const rows: Array<[string, string]> = [
    ['ID', s.id], ['Name', s.name], ['Task', s.task], ['Runtime', s.runtime], ['Model', s.model],
    ['Model path', s.model_path ?? ''], ['Revision', s.revision ?? '—'], ['Profile', s.profile], ['Replicas', String(s.replicas)],
    ['Status', s.status], ['Reason', s.reason ?? '—'], ['Job', s.job_id ?? '—'], ['Endpoint', s.endpoint ?? '—'],
    ['Dynamic batching', s.dynamic_batching ? `up to ${s.dynamic_batching.max_batch_size} per batch, waiting at most ${s.dynamic_batching.max_queue_delay_microseconds} µs` : '—'],
    ['Options', s.options && Object.keys(s.options).length > 0 ? JSON.stringify(s.options) : '—'],
    ['Created', time(s.created_at)], ['Updated', time(s.updated_at)],
  ];
  return (
    <>
      {error !== null && <ErrorAlert error={error} onRetry={load} />}
      <dl class="config">{rows.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}</dl>
    </>
  );
}

function ApiSnippets({ service }: { service: Service }) {
  const last = lastRequests.get(service.id);
  const all = snippets(service, window.location.origin, last);
  return (
    <div class="snippets">
      <p class="muted">{last ? 'Your last playground request' : 'An example request'} to {service.name}, ready to run. Set <code>CORRAL_API_KEY</code> to a key with the <code>infer</code> scope.</p>
      {all.map((s) => <Snippet key={s.title} title={s.title} code={s.code} />)}
    </div>
  );
}

function Snippet({ title, code }: { title: string; code: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      setCopied('yes');
    } catch {
      // No clipboard permission: select the text so Ctrl+C copies it.
      const range = document.createRange();
      if (pre.current) range.selectNodeContents(pre.current);
      const sel = window.getSelection();
      sel?.removeAllRanges();
      sel?.addRange(range);
      setCopied('no');
    }
  };
  const id = `snippet-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <figure class="snippet" aria-labelledby={id}>
      <figcaption id={id}>
        {title}
        <button type="button" class="secondary" onClick={() => void copy()} aria-label={`Copy ${title}`}>Copy</button>
        <span role="status" class="muted small">{copied === 'yes' ? 'Copied' : copied === 'no' ? 'Selected: press Ctrl+C' : ''}</span>
      </figcaption>
      <pre ref={pre} tabIndex={0}><code>{code}</code></pre>
    </figure>
  );
}
