import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { bytes } from '../components/format';
import type { Profile, RegistryEntry, Service } from '../types';

/** The tasks a service can be started for here (tensor models are uploaded on the Models page). */
export const TASKS: Array<{ task: string; label: string; needsModel: boolean }> = [
  { task: 'text-generation', label: 'Text generation (chat)', needsModel: true },
  { task: 'feature-extraction', label: 'Embeddings (feature extraction)', needsModel: true },
  { task: 'text-classification', label: 'Text classification', needsModel: true },
  { task: 'token-classification', label: 'Token classification (entities)', needsModel: true },
  { task: 'zero-shot-classification', label: 'Zero-shot classification', needsModel: true },
  { task: 'keyterms', label: 'Keyterms (built-in)', needsModel: false },
  { task: 'ocr', label: 'OCR (built-in)', needsModel: false },
];

const OTHER = '__other__';

/** What the Registry page's "Start service" fills in (from /services?start=1&task=&profile=&model=&revision=). */
export interface StartPrefill {
  task?: string;
  profile?: string;
  model?: string;
  revision?: string;
}

/** A service name from a model id or path: its last part, in the characters names allow. */
const nameFrom = (model: string) => (model.split('/').filter(Boolean).pop() ?? '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 60);

/**
 * Start a service: task, then profile, then a model from that profile's
 * registry (GET /models?profile=) or any hub id or path, then a name. The
 * server validates; its message is shown as it said it, and nothing typed is lost.
 */
export function StartService({ onStarted, initial }: { onStarted: (s: Service) => void; initial?: StartPrefill }) {
  const [task, setTask] = useState(TASKS.some((t) => t.task === initial?.task) ? initial!.task! : TASKS[0]!.task);
  const [profiles, setProfiles] = useState<Profile[] | null>(null);
  const [profile, setProfile] = useState(initial?.profile || 'local');
  /** A model asked for by the Registry page: chosen once that profile's registry has loaded. */
  const wanted = useRef(initial?.model ? initial : null);
  const [registry, setRegistry] = useState<RegistryEntry[] | null>(null);
  const [choice, setChoice] = useState('');
  const [other, setOther] = useState('');
  /** What the user typed as the name; until then the name follows the model (or the task). */
  const [typedName, setTypedName] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [started, setStarted] = useState<{ service: Service; warning?: string } | null>(null);
  const needsModel = TASKS.find((t) => t.task === task)?.needsModel ?? true;

  const loadProfiles = () => {
    api<Profile[]>('/api/profiles').then(setProfiles, (err) => setError({ err, retry: loadProfiles }));
  };
  useEffect(loadProfiles, []);

  const loadRegistry = (refresh: boolean) => {
    setRegistry(null);
    const query = `/models?profile=${encodeURIComponent(profile)}`;
    api<RegistryEntry[]>(refresh ? `${query}&refresh=1` : query).then(async (entries) => {
      // The registry knows nothing until a first scan: scan once by itself.
      if (!refresh && entries.length === 0) entries = await api<RegistryEntry[]>(`${query}&refresh=1`);
      const usable = entries.filter((e) => e.source !== 'repository');
      setRegistry(usable);
      // Keep a choice still on offer; else the first model (set here, not in an effect, so a quick pick is never overwritten).
      const keys = usable.map((e) => `${e.model}@${e.revision}`);
      const want = wanted.current;
      wanted.current = null;
      if (want?.model) {
        const hit = usable.find((e) => e.model === want.model && (!want.revision || e.revision === want.revision));
        if (hit) return setChoice(`${hit.model}@${hit.revision}`);
        setOther(want.model);
        return setChoice(OTHER);
      }
      const forTask = usable.find((e) => e.task === task);
      setChoice((c) => (c === OTHER || keys.includes(c) ? c : forTask ? `${forTask.model}@${forTask.revision}` : keys[0] ?? ''));
    }).catch((err) => { setRegistry([]); setError({ err, retry: () => loadRegistry(refresh) }); });
  };
  useEffect(() => loadRegistry(false), [profile]);

  const chosen = registry?.find((e) => `${e.model}@${e.revision}` === choice);
  const model = choice === OTHER || (registry?.length === 0) ? other.trim() : chosen?.model ?? '';
  const selectedProfile = profiles?.find((p) => p.name === profile);
  const willDownload = needsModel && model !== '' && !chosen && !model.startsWith('/') && selectedProfile?.type === 'slurm';

  const name = typedName ?? (needsModel ? nameFrom(model) : task);

  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = { name: name.trim(), task, profile };
    if (needsModel) {
      body.model = model;
      if (chosen) body.revision = chosen.revision;
    }
    const run = async () => {
      setBusy(true);
      setError(null);
      setStarted(null);
      try {
        const service = await api<Service & { warning?: string }>('/api/services', { method: 'POST', json: body });
        setStarted({ service, warning: service.warning });
        setTypedName(null);
        onStarted(service);
      } catch (err) {
        setError({ err, retry: () => void run() });
      } finally {
        setBusy(false);
      }
    };
    await run();
  };

  return (
    <form class="card start-service" onSubmit={(e) => void submit(e)} aria-labelledby="start-title">
      <h2 id="start-title">Start a service</h2>
      <div class="row">
        <div class="field">
          <label for="start-task">Task</label>
          <select id="start-task" value={task} onChange={(e) => setTask((e.currentTarget as HTMLSelectElement).value)}>
            {TASKS.map((t) => <option key={t.task} value={t.task}>{t.label}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="start-profile">Profile</label>
          <select id="start-profile" value={profile} onChange={(e) => { setProfile((e.currentTarget as HTMLSelectElement).value); setChoice(''); }}>
            {(profiles ?? [{ name: 'local', type: 'local' } as Profile]).map((p) => <option key={p.name} value={p.name}>{p.name} ({p.type})</option>)}
          </select>
        </div>
      </div>
      {needsModel && (
        <div class="row">
          <div class="field">
            <label for="start-model">Model</label>
            {registry === null ? <p role="status" class="muted">Looking in {profile}'s registry…</p> : registry.length > 0 ? (
              <select id="start-model" value={choice} onChange={(e) => setChoice((e.currentTarget as HTMLSelectElement).value)} aria-describedby="start-model-help">
                {/* The models made for the chosen task first; the others stay choosable (a registry task can be unknown). */}
                {[...registry].sort((a, b) => Number(b.task === task) - Number(a.task === task)).map((e) => (
                  <option key={e.path} value={`${e.model}@${e.revision}`}>{e.model} @ {e.revision.slice(0, 10)} ({[bytes(e.size_bytes), e.source, e.task].filter(Boolean).join(', ')})</option>
                ))}
                <option value={OTHER}>Other: a Hugging Face id or a folder…</option>
              </select>
            ) : null}
            {registry !== null && (registry.length === 0 || choice === OTHER) && (
              <input id={registry.length === 0 ? 'start-model' : 'start-model-other'} aria-label={registry.length === 0 ? undefined : 'Model id or folder'} value={other} placeholder="Xenova/all-MiniLM-L6-v2 or /path/to/model"
                onInput={(e) => setOther((e.currentTarget as HTMLInputElement).value)} aria-describedby="start-model-help" />
            )}
            <p id="start-model-help" class="muted small">
              {registry?.length === 0 ? `Nothing in ${profile}'s registry yet: type a Hugging Face id or a model folder. ` : `From ${profile}'s registry (Hugging Face snapshots on disk). `}
              <button type="button" class="link" onClick={() => loadRegistry(true)}>Refresh the registry</button>
            </p>
            {willDownload && <p class="notice" role="status">This model is not on {profile}: the job will download it to {selectedProfile?.home_dir ?? '~/.corral'}/hub.</p>}
          </div>
        </div>
      )}
      <div class="row">
        <div class="field">
          <label for="start-name">Name</label>
          <input id="start-name" value={name} onInput={(e) => setTypedName((e.currentTarget as HTMLInputElement).value)} required />
        </div>
      </div>
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {started && (
        <p class="notice" role="status">
          Service <Link to={`/services/${encodeURIComponent(started.service.id)}`}>{started.service.name}</Link> is {started.service.status}: it appears below and turns RUNNING once its worker has loaded it.
          {started.warning ? ` ${started.warning}` : ''}
        </p>
      )}
      <button type="submit" disabled={busy || (needsModel && model === '')}>{busy ? 'Starting…' : 'Start service'}</button>
    </form>
  );
}
