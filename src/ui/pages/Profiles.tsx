import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { useConfirm } from '../components/Confirm';
import { ErrorAlert } from '../components/ErrorAlert';
import type { Profile, ProfileField } from '../types';
import './admin.css';

interface FieldSpec {
  key: Exclude<ProfileField, 'type'>;
  label: string;
  hint?: string;
  number?: boolean;
  slurm?: boolean;
}

/** profiles.cfg's keys, as POST/PATCH /api/profiles take them. */
const FIELDS: FieldSpec[] = [
  { key: 'home_dir', label: 'Home directory', hint: 'Absolute path; models downloaded for this profile go here.' },
  { key: 'cache_dir', label: 'Shared cache directory', hint: 'Absolute path; a read-only Hugging Face cache.' },
  { key: 'host', label: 'Login node', hint: "SSH host; 'localhost' runs Slurm commands here.", slurm: true },
  { key: 'user', label: 'User', slurm: true },
  { key: 'port', label: 'SSH port', number: true, slurm: true },
  { key: 'identity_file', label: 'SSH identity file', hint: 'Absolute path of a private key.', slurm: true },
  { key: 'partition', label: 'Partition', slurm: true },
  { key: 'time_limit', label: 'Time limit', hint: "Minutes, or [days-]hours:minutes:seconds such as '1:00:00'.", slurm: true },
  { key: 'gpus', label: 'GPUs', number: true, slurm: true },
  { key: 'cpus', label: 'CPUs', number: true, slurm: true },
  { key: 'memory', label: 'Memory', hint: 'Such as 4G or 512M.', slurm: true },
];

type Values = Record<string, string>;
const valuesOf = (p?: Profile): Values => {
  const v: Values = { name: p?.name ?? '', type: p?.type ?? 'local' };
  for (const f of FIELDS) v[f.key] = p?.[f.key] == null ? '' : String(p[f.key]);
  return v;
};

/** Where services run (profiles.cfg): everyone with read sees them; admins create, edit and delete (never `local`). */
export function Profiles({ can }: { can: (scope: string) => boolean }) {
  const [dialog, confirm] = useConfirm();
  const [profiles, setProfiles] = useState<Profile[] | null>(null);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [editing, setEditing] = useState<Profile | 'new' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const admin = can('admin');

  const load = () => {
    api<Profile[]>('/api/profiles').then(setProfiles, (err) => setError({ err, retry: load }));
  };
  useEffect(load, []);

  const remove = async (p: Profile) => {
    if (!(await confirm({ title: `Delete profile ${p.name}?`, message: `It is removed from profiles.cfg; services already started on it keep running. Its registry entries are no longer offered.`, confirm: 'Delete' }))) return;
    const run = async () => {
      setError(null);
      try {
        await api(`/api/profiles/${encodeURIComponent(p.name)}`, { method: 'DELETE' });
        setNotice(`Profile ${p.name} deleted.`);
        if (editing !== 'new' && editing?.name === p.name) setEditing(null);
        load();
      } catch (err) {
        setError({ err, retry: () => void run() });
      }
    };
    await run();
  };

  return (
    <section aria-labelledby="page-title" class="profiles">
      <h1 id="page-title">Profiles</h1>
      <div class="toolbar">
        <p class="muted">Where services run: this machine (<code>local</code>) or a Slurm cluster reached over SSH.</p>
        {admin && editing === null && <button type="button" onClick={() => { setNotice(null); setEditing('new'); }}>New profile</button>}
      </div>
      {admin && editing !== null && (
        <ProfileForm key={editing === 'new' ? '' : editing.name} profile={editing === 'new' ? undefined : editing}
          onCancel={() => setEditing(null)}
          onSaved={(p, created) => { setEditing(null); setNotice(`Profile ${p.name} ${created ? 'created' : 'saved'}.`); load(); }} />
      )}
      {notice && <p class="notice" role="status">{notice}</p>}
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {profiles === null ? (error ? null : <p role="status">Loading…</p>) : (
        <table>
          <caption class="visually-hidden">Profiles</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Where</th><th scope="col">Directories</th><th scope="col">Slurm resources</th>{admin && <th scope="col">Actions</th>}</tr></thead>
          <tbody>
            {profiles.map((p) => (
              <tr key={p.name}>
                <th scope="row">{p.name}</th>
                <td>{p.type}</td>
                <td class="wrap">{p.type === 'local' ? 'this machine' : `${p.user ? `${p.user}@` : ''}${p.host ?? '?'}${p.port ? `:${p.port}` : ''}`}</td>
                <td class="wrap">
                  {p.home_dir && <div>home <code>{p.home_dir}</code></div>}
                  {p.cache_dir && <div>cache <code>{p.cache_dir}</code></div>}
                </td>
                <td class="wrap">{[p.partition && `partition ${p.partition}`, p.time_limit && `time ${p.time_limit}`, p.gpus != null && `${p.gpus} GPU`, p.cpus != null && `${p.cpus} CPU`, p.memory && `memory ${p.memory}`].filter(Boolean).join(', ') || <span class="muted">–</span>}</td>
                {admin && (
                  <td><div class="actions">
                    <button type="button" class="secondary" aria-label={`Edit ${p.name}`} onClick={() => { setNotice(null); setEditing(p); }}>Edit</button>
                    {p.name === 'local'
                      ? <span class="muted small">built in: cannot be deleted</span>
                      : <button type="button" class="danger" aria-label={`Delete ${p.name}`} onClick={() => void remove(p)}>Delete</button>}
                  </div></td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dialog}
    </section>
  );
}

function ProfileForm({ profile, onCancel, onSaved }: { profile?: Profile; onCancel: () => void; onSaved: (p: Profile, created: boolean) => void }) {
  const initial = useRef(valuesOf(profile));
  const [values, setValues] = useState<Values>(initial.current);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const set = (k: string, v: string) => setValues((old) => ({ ...old, [k]: v }));
  const slurm = values.type === 'slurm';
  useEffect(() => heading.current?.focus(), []);

  const submit = async (e?: Event) => {
    e?.preventDefault();
    // Create: every filled field. Edit: the fields changed; a field emptied is sent as null (cleared).
    const json: Record<string, unknown> = profile ? {} : { name: values.name.trim() };
    for (const k of ['type', ...FIELDS.map((f) => f.key)]) {
      const v = values[k]!.trim();
      if (profile && v === initial.current[k]) continue;
      if (v === '') {
        if (profile) json[k] = null;
        continue;
      }
      const number = FIELDS.find((f) => f.key === k)?.number;
      json[k] = number && !Number.isNaN(Number(v)) ? Number(v) : v;
    }
    setBusy(true);
    setError(null);
    try {
      const saved = profile
        ? await api<Profile>(`/api/profiles/${encodeURIComponent(profile.name)}`, { method: 'PATCH', json })
        : await api<Profile>('/api/profiles', { method: 'POST', json });
      onSaved(saved, !profile);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // The server's message names the key it refused (time_limit, home_dir, ...): mark that field too.
  const message = error instanceof Error ? error.message : '';
  const invalid = FIELDS.map((f) => f.key as string).find((k) => new RegExp(`\\b${k}\\b`).test(message)) ?? (/profile name/.test(message) ? 'name' : undefined);
  const described = (k: string, hint?: string) => [hint, invalid === k && 'profile-error'].filter(Boolean).join(' ') || undefined;

  const input = (f: FieldSpec) => (
    <div class="field" key={f.key}>
      <label for={`profile-${f.key}`}>{f.label}</label>
      <input id={`profile-${f.key}`} type={(f.number ? 'number' : 'text') as 'text'} step={f.number ? 1 : undefined} value={values[f.key]}
        aria-invalid={invalid === f.key ? 'true' : undefined} aria-describedby={described(f.key, f.hint && `profile-${f.key}-hint`)}
        onInput={(e) => set(f.key, (e.currentTarget as HTMLInputElement).value)} />
      {f.hint && <small id={`profile-${f.key}-hint`} class="muted">{f.hint}</small>}
    </div>
  );

  return (
    <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="profile-form-title" noValidate>
      <h2 id="profile-form-title" ref={heading} tabIndex={-1}>{profile ? `Edit profile ${profile.name}` : 'New profile'}</h2>
      <div class="row">
        <div class="field">
          <label for="profile-name">Name</label>
          <input id="profile-name" value={values.name} readOnly={!!profile} required aria-invalid={invalid === 'name' ? 'true' : undefined} aria-describedby={described('name', 'profile-name-hint')}
            onInput={(e) => set('name', (e.currentTarget as HTMLInputElement).value)} />
          <small id="profile-name-hint" class="muted">{profile ? 'A profile keeps its name.' : "Letters, digits, '.', '_' or '-'."}</small>
        </div>
        <div class="field">
          <label for="profile-type">Type</label>
          <select id="profile-type" value={values.type} onChange={(e) => set('type', (e.currentTarget as HTMLSelectElement).value)}>
            <option value="local">local (this machine)</option>
            <option value="slurm">slurm (a cluster over SSH)</option>
          </select>
        </div>
      </div>
      <div class="row">{FIELDS.filter((f) => !f.slurm).map(input)}</div>
      {slurm && (
        <fieldset>
          <legend>Slurm</legend>
          <div class="grid-fields">{FIELDS.filter((f) => f.slurm).map(input)}</div>
        </fieldset>
      )}
      {error !== null && <div id="profile-error"><ErrorAlert error={error} onRetry={() => void submit()} onDismiss={() => setError(null)} /></div>}
      <div class="row">
        <button type="submit" disabled={busy}>{busy ? 'Saving…' : profile ? 'Save profile' : 'Create profile'}</button>
        <button type="button" class="secondary" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
