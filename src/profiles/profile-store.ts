import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import ini from 'ini';
import { CorralError } from '../errors/index.js';
import type { Profile } from './profile.js';
import { profileFromSection, sectionFromProfile, validateProfile } from './profile-fields.js';

/**
 * Profiles in CORRAL_HOME/profiles.cfg (INI, one section per profile, Blackfish's
 * format). The file stays the source of truth, so hand edits apply on the next
 * read; writes go through a temp file and a rename, so a crash never leaves it
 * half-written. A `local` profile always exists.
 */
export class ProfileStore {
  constructor(private readonly path: string, private readonly home: string) {}

  list(): Profile[] {
    const profiles = this.read();
    if (!profiles.some((p) => p.name === 'local')) profiles.unshift(this.localDefault());
    return profiles;
  }

  get(name: string): Profile {
    const profile = this.list().find((p) => p.name === name);
    if (!profile) throw new CorralError('PROFILE_NOT_FOUND', `No profile '${name}'. List profiles with 'corral profile ls'; create one with 'corral profile create'.`);
    return profile;
  }

  async create(profile: Profile): Promise<Profile> {
    validateProfile(profile);
    const profiles = this.read();
    if (profiles.some((p) => p.name === profile.name) || profile.name === 'local') {
      throw new CorralError('ALREADY_EXISTS', `Profile '${profile.name}' already exists; change it with 'corral profile update'.`);
    }
    await this.write([...profiles, profile]);
    return profile;
  }

  async update(name: string, changes: Partial<Profile>): Promise<Profile> {
    const profiles = this.read();
    const index = profiles.findIndex((p) => p.name === name);
    const current = index >= 0 ? profiles[index]! : name === 'local' ? this.localDefault() : undefined;
    if (!current) throw new CorralError('PROFILE_NOT_FOUND', `No profile '${name}'.`);
    const updated = validateProfile({ ...current, ...changes, name });
    if (index >= 0) profiles[index] = updated;
    else profiles.push(updated);
    await this.write(profiles);
    return updated;
  }

  async delete(name: string): Promise<void> {
    // Removing its section would only reset it to the defaults, silently undoing edits.
    if (name === 'local') throw new CorralError('BAD_REQUEST', "The 'local' profile (this machine) cannot be deleted; change it with 'corral profile update local' or PATCH /api/profiles/local.");
    const profiles = this.read();
    if (!profiles.some((p) => p.name === name)) throw new CorralError('PROFILE_NOT_FOUND', `No profile '${name}'.`);
    await this.write(profiles.filter((p) => p.name !== name));
  }

  private localDefault(): Profile {
    return { name: 'local', type: 'local', homeDir: this.home };
  }

  private read(): Profile[] {
    if (!existsSync(this.path)) return [];
    const parsed = ini.parse(readFileSync(this.path, 'utf8')) as Record<string, Record<string, unknown>>;
    return Object.entries(parsed)
      .filter(([, section]) => typeof section === 'object')
      .map(([name, section]) => profileFromSection(name, section));
  }

  private async write(profiles: Profile[]): Promise<void> {
    const doc: Record<string, Record<string, string | number>> = {};
    for (const p of profiles) doc[p.name] = sectionFromProfile(p);
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, ini.stringify(doc, { whitespace: false }));
    await rename(tmp, this.path);
  }
}
