import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import { FIELD_KEYS, PROFILE_TYPES, type Profile } from '../../profiles/index.js';
import { CorralError } from '../../errors/index.js';
import { canonicalTask, unknownTaskMessage } from '../../services/index.js';
import type { Corral } from '../corral.js';

const ProfileType = Type.Union(PROFILE_TYPES.map((t) => Type.Literal(t)));
/** Every profiles.cfg key but type, with what it takes. */
const Settable = {
  host: Type.String(),
  user: Type.String(),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  identity_file: Type.String(),
  home_dir: Type.String(),
  cache_dir: Type.String(),
  partition: Type.String(),
  time_limit: Type.String(),
  gpus: Type.Integer({ minimum: 0 }),
  memory: Type.String(),
  cpus: Type.Integer({ minimum: 1 }),
  // Boxes (gce, ec2, command); validateProfile checks each value and names the field it refuses.
  project: Type.String(),
  zone: Type.String(),
  region: Type.String(),
  instances: Type.String({ description: 'Comma-separated instance names (gce, command) or ids (ec2).' }),
  endpoint_url: Type.String(),
  start_command: Type.String(),
  stop_command: Type.String(),
  status_command: Type.String(),
  max_restarts: Type.Integer({ minimum: 0 }),
};
const settable = (wrap: (schema: TSchema) => TSchema) => Object.fromEntries(Object.entries(Settable).map(([key, schema]) => [key, wrap(schema)]));
const CreateBody = Type.Object({ name: Type.String(), type: ProfileType, ...settable((s) => Type.Optional(s)) }, { additionalProperties: false });
// A JSON merge patch (RFC 7396): a key given null is cleared; type can only be changed.
const UpdateBody = Type.Object({ type: Type.Optional(ProfileType), ...settable((s) => Type.Optional(Type.Union([s, Type.Null()]))) }, { additionalProperties: false });
const NameParams = Type.Object({ name: Type.String() });
const RegistryQuery = Type.Object({ profile: Type.Optional(Type.String()), refresh: Type.Optional(Type.String()), task: Type.Optional(Type.String()) });

type ProfileFields = { [K in keyof typeof Settable | 'type']?: unknown };
const ENTRIES = Object.entries(FIELD_KEYS) as Array<[keyof typeof FIELD_KEYS, string]>;

/** A request body in profiles.cfg's snake_case keys → Profile fields (null: the field is cleared). */
function fromBody(body: ProfileFields): Partial<Profile> {
  const out: Record<string, unknown> = {};
  for (const [field, key] of ENTRIES) {
    const value = body[key as keyof ProfileFields];
    if (value !== undefined) out[field] = value ?? undefined;
  }
  return out as Partial<Profile>;
}

/** A profile as the API shows it: every profiles.cfg key, null where unset. */
const view = (p: Profile) => ({ name: p.name, ...Object.fromEntries(ENTRIES.map(([field, key]) => [key, p[field] ?? null])) });

/** Profiles (where services run) and the model registry (what each profile has on disk). */
export const profileRoutes: FastifyPluginAsyncTypebox<{ corral: Corral }> = async (app, { corral }) => {
  const { profiles, models } = corral;

  app.get('/api/profiles', { config: { auth: 'read' } }, async () => profiles.list().map(view));
  app.get('/api/profiles/:name', { schema: { params: NameParams }, config: { auth: 'read' } }, async (req) => view(profiles.get(req.params.name)));
  // Profile fields run commands (host, user, identity_file, cache_dir over SSH): admin only.
  const admin = { auth: 'admin' } as const;
  app.post('/api/profiles', { schema: { body: CreateBody }, config: admin }, async (req, reply) => {
    const profile = await profiles.create({ ...fromBody(req.body), name: req.body.name } as Profile);
    corral.audit.record('profile.create', req, profile.name, view(profile));
    reply.code(201);
    return view(profile);
  });
  app.patch('/api/profiles/:name', { schema: { params: NameParams, body: UpdateBody }, config: admin }, async (req) => {
    const profile = await profiles.update(req.params.name, fromBody(req.body));
    corral.audit.record('profile.update', req, profile.name, req.body);
    return view(profile);
  });
  app.delete('/api/profiles/:name', { schema: { params: NameParams }, config: admin }, async (req) => {
    await profiles.delete(req.params.name);
    corral.audit.record('profile.delete', req, req.params.name);
    return { deleted: req.params.name };
  });

  // Blackfish's model registry: the database answers unless refresh=true re-scans the disk.
  app.get('/models', { schema: { querystring: RegistryQuery }, config: { auth: 'read' } }, async (req) => {
    const profile = profiles.get(req.query.profile ?? 'local');
    const refresh = req.query.refresh === 'true' || req.query.refresh === '1';
    // Blackfish's `image ls --filter name=<task>`: the models that can start a service of that task.
    const task = req.query.task === undefined ? undefined : canonicalTask(req.query.task);
    if (req.query.task !== undefined && task === undefined) {
      throw new CorralError('BAD_REQUEST', unknownTaskMessage(req.query.task));
    }
    const entries = refresh ? await models.refresh(profile) : await models.list(profile.name);
    return entries.filter((e) => task === undefined || e.task === task)
      .map((e) => ({ model: e.model, revision: e.revision, profile: e.profile, task: e.task, path: e.path, size_bytes: e.sizeBytes, source: e.source }));
  });
};
