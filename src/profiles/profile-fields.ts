import { CorralError } from '../errors/index.js';
import { validateModelName } from '../repository/model-name.js';
import { BOX_PROFILE_TYPES, instancesOf, PROFILE_TYPES, type Profile } from './profile.js';

/** profiles.cfg keys (Blackfish's snake_case) ↔ Profile fields. */
export const FIELD_KEYS = {
  type: 'type', host: 'host', user: 'user', port: 'port', identityFile: 'identity_file', homeDir: 'home_dir', cacheDir: 'cache_dir',
  partition: 'partition', timeLimit: 'time_limit', gpus: 'gpus', memory: 'memory', cpus: 'cpus',
  project: 'project', zone: 'zone', region: 'region', instances: 'instances', endpointUrl: 'endpoint_url',
  startCommand: 'start_command', stopCommand: 'stop_command', statusCommand: 'status_command', maxRestarts: 'max_restarts',
} as const satisfies Record<Exclude<keyof Profile, 'name'>, string>;

const NUMERIC = new Set(['gpus', 'cpus', 'port', 'maxRestarts']);
/** Cloud instance names and ids (GCE names, EC2 i-... ids, any command box's name): nothing a shell would read. */
export const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** What each box type cannot do without. */
const BOX_REQUIRED: Record<string, Array<keyof Profile>> = {
  gce: ['project', 'zone', 'instances'],
  ec2: ['region', 'instances'],
  command: ['instances', 'startCommand', 'stopCommand', 'statusCommand'],
};
const TIME = /^(\d+-)?\d+(:\d{1,2}){0,2}$/;

/**
 * Checks a profile and says which field is wrong. Runs on every write, and on
 * every read of a hand-edited file.
 */
export function validateProfile(profile: Profile): Profile {
  try {
    validateModelName(profile.name);
  } catch {
    throw new CorralError('BAD_REQUEST', `Invalid profile name '${profile.name}': use letters, digits, '.', '_' or '-'.`);
  }
  if (!(PROFILE_TYPES as readonly string[]).includes(profile.type)) {
    throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': type must be one of ${PROFILE_TYPES.join(', ')}, got '${String(profile.type)}'.`);
  }
  for (const field of NUMERIC) {
    const value = profile[field as 'gpus' | 'cpus' | 'port' | 'maxRestarts'];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': ${field} must be a whole number, got '${String(value)}'.`);
    }
  }
  if (profile.timeLimit !== undefined && !TIME.test(profile.timeLimit)) {
    throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': time_limit must be minutes or [days-]hours:minutes:seconds, got '${profile.timeLimit}'.`);
  }
  if (profile.memory !== undefined && !/^\d+[KMGT]?$/i.test(profile.memory)) {
    throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': memory must look like 4G or 512M, got '${profile.memory}'.`);
  }
  for (const dir of ['homeDir', 'cacheDir', 'identityFile'] as const) {
    const value = profile[dir];
    if (value !== undefined && !value.startsWith('/') && !value.startsWith('~')) {
      throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': ${FIELD_KEYS[dir]} must be an absolute path, got '${value}'.`);
    }
  }
  if (BOX_PROFILE_TYPES.has(profile.type)) validateBoxFields(profile);
  return profile;
}

function validateBoxFields(profile: Profile): void {
  for (const field of BOX_REQUIRED[profile.type]!) {
    if (profile[field] === undefined || profile[field] === '') {
      throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': a ${profile.type} profile needs ${FIELD_KEYS[field as keyof typeof FIELD_KEYS]}.`);
    }
  }
  for (const instance of instancesOf(profile)) {
    if (!INSTANCE_NAME.test(instance)) {
      throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': instance '${instance}' is not a valid name (letters, digits, '.', '_', '-').`);
    }
  }
  for (const field of ['project', 'zone', 'region'] as const) {
    const value = profile[field];
    if (value !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) {
      throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': ${field} '${value}' is not a valid ${field} name.`);
    }
  }
  if (profile.endpointUrl !== undefined) {
    let url: URL | undefined;
    try { url = new URL(profile.endpointUrl); } catch { /* reported below */ }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new CorralError('BAD_REQUEST', `Profile '${profile.name}': endpoint_url must be an http(s) URL, got '${profile.endpointUrl}'.`);
    }
  }
}

/** A Profile from one INI section (values are strings there). */
export function profileFromSection(name: string, section: Record<string, unknown>): Profile {
  const profile: Record<string, unknown> = { name };
  for (const [field, key] of Object.entries(FIELD_KEYS)) {
    const raw = section[key];
    if (raw === undefined || raw === '') continue;
    profile[field] = NUMERIC.has(field) ? Number(raw) : String(raw);
  }
  return validateProfile(profile as unknown as Profile);
}

/** The INI section of a profile, fields unset left out. */
export function sectionFromProfile(profile: Profile): Record<string, string | number> {
  const section: Record<string, string | number> = {};
  for (const [field, key] of Object.entries(FIELD_KEYS)) {
    const value = profile[field as keyof Profile];
    if (value !== undefined) section[key] = value as string | number;
  }
  return section;
}
