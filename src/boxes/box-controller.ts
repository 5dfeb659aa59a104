import { CorralError } from '../errors/index.js';
import type { EventHub } from '../events/index.js';
import { BOX_PROFILE_TYPES, instancesOf, type Profile, type ProfileStore } from '../profiles/index.js';
import { STARTABLE, type BoxProvider, type BoxState, type BoxStatus } from './box-provider.js';

/** A box as the API shows it: its status and the profile it belongs to. */
export type ProfileBox = BoxStatus & { profile: string };

/** Makes (and may cache) the provider of a box profile. */
export type BoxProviderFactory = (profile: Profile) => BoxProvider;

/**
 * Every box of every box profile, and the rules for starting and stopping them:
 * a box starts only from STOPPED or PREEMPTED (starting one that is STARTING or
 * RUNNING changes nothing), stops only from STARTING or RUNNING, and a box the
 * cloud does not know is BOX_NOT_FOUND. Each change seen is published on the
 * event hub (GET /api/boxes/.../events, GET /api/events).
 */
export class BoxController {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly profiles: ProfileStore,
    private readonly providerFor: BoxProviderFactory,
    private readonly events?: EventHub,
  ) {}

  /** The box profiles, in profiles.cfg order. */
  boxProfiles(): Profile[] {
    return this.profiles.list().filter((p) => BOX_PROFILE_TYPES.has(p.type));
  }

  /** The box profile `name`; a profile of another type is not one. */
  profile(name: string): Profile {
    const profile = this.profiles.get(name);
    if (!BOX_PROFILE_TYPES.has(profile.type)) {
      throw new CorralError('BAD_REQUEST', `Profile '${name}' is a ${profile.type} profile, not a box profile (gce, ec2 or command).`);
    }
    return profile;
  }

  provider(profileName: string): BoxProvider {
    return providerCalls(this.providerFor(this.profile(profileName)));
  }

  /** Every box, profile by profile (one profile's failing API fails the list: the caller must know). */
  async list(profileName?: string): Promise<ProfileBox[]> {
    const profiles = profileName === undefined ? this.boxProfiles() : [this.profile(profileName)];
    const all: ProfileBox[] = [];
    for (const profile of profiles) {
      for (const box of await providerCalls(this.providerFor(profile)).list()) all.push(this.seen(profile.name, box));
    }
    return all;
  }

  async status(profileName: string, instance: string): Promise<ProfileBox> {
    const profile = this.profile(profileName);
    this.assertListed(profile, instance);
    return this.seen(profile.name, await providerCalls(this.providerFor(profile)).status(instance));
  }

  /** Starts a STOPPED or PREEMPTED box; a STARTING or RUNNING one is returned as it is. */
  async start(profileName: string, instance: string): Promise<ProfileBox> {
    const current = await this.status(profileName, instance);
    if (current.state === 'RUNNING' || current.state === 'STARTING') return current;
    this.assertFound(current);
    if (!STARTABLE.has(current.state)) {
      throw new CorralError('BOX_BUSY', `Box '${instance}' of profile '${profileName}' is ${current.state}; it can be started once it is STOPPED.`);
    }
    return this.seen(profileName, await this.provider(profileName).start(instance));
  }

  /** Stops a STARTING or RUNNING box; a STOPPED, STOPPING or PREEMPTED one is returned as it is. */
  async stop(profileName: string, instance: string): Promise<ProfileBox> {
    const current = await this.status(profileName, instance);
    this.assertFound(current);
    if (current.state !== 'RUNNING' && current.state !== 'STARTING') return current;
    return this.seen(profileName, await this.provider(profileName).stop(instance));
  }

  /**
   * Polls a box until it is in one of `states`; throws with its last state when it
   * reaches one of `failOn` or `timeoutMs` passes.
   */
  async waitFor(profileName: string, instance: string, states: BoxState[], timeoutMs: number, failOn: BoxState[] = ['MISSING'], pollMs = 1000): Promise<ProfileBox> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const box = await this.status(profileName, instance);
      if (states.includes(box.state)) return box;
      if (failOn.includes(box.state)) throw new CorralError('BOX_BUSY', `Box '${instance}' of profile '${profileName}' became ${box.state}${box.reason ? ` (${box.reason})` : ''} instead of ${states.join(' or ')}.`);
      if (Date.now() >= deadline) throw new CorralError('TIMEOUT', `Box '${instance}' of profile '${profileName}' was still ${box.state} after ${Math.round(timeoutMs / 1000)} s.`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** The box profile and instance Laminoid's controller routes name by zone: a gce profile of that zone, else any box profile listing it. */
  findByZone(zone: string, instance: string): Profile {
    const profiles = this.boxProfiles().filter((p) => instancesOf(p).includes(instance));
    const match = profiles.find((p) => p.zone === zone || p.region === zone || (p.region !== undefined && zone.startsWith(p.region))) ?? profiles[0];
    if (!match) throw new CorralError('BOX_NOT_FOUND', `No box profile lists instance '${instance}' (zone '${zone}').`);
    return match;
  }

  private assertListed(profile: Profile, instance: string): void {
    if (!instancesOf(profile).includes(instance)) {
      throw new CorralError('BOX_NOT_FOUND', `Profile '${profile.name}' has no instance '${instance}'; it lists ${instancesOf(profile).join(', ') || 'none'}.`);
    }
  }

  private assertFound(box: ProfileBox): void {
    if (box.state === 'MISSING') throw new CorralError('BOX_NOT_FOUND', `Box '${box.instance}' of profile '${box.profile}' does not exist at the provider${box.reason ? ` (${box.reason})` : ''}.`);
  }

  /** Records a box's status, publishing it when it changed. */
  private seen(profile: string, status: BoxStatus): ProfileBox {
    const box: ProfileBox = { profile, ...status };
    const key = `${profile}/${status.instance}`;
    const fingerprint = JSON.stringify(box);
    if (this.last.get(key) !== fingerprint) {
      this.last.set(key, fingerprint);
      this.events?.publish({ type: 'box', box });
    }
    return box;
  }
}

/**
 * A provider whose failures (the cloud API refusing or unreachable, a command
 * exiting non-zero) reach callers as BOX_PROVIDER_FAILED with the provider's message.
 */
function providerCalls(provider: BoxProvider): BoxProvider {
  const wrap = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    try {
      return await call(...args);
    } catch (err) {
      if (err instanceof CorralError) throw err;
      throw new CorralError('BOX_PROVIDER_FAILED', `${provider.type} provider: ${(err as Error).message}`);
    }
  };
  return {
    type: provider.type,
    list: wrap(() => provider.list()),
    status: wrap((instance: string) => provider.status(instance)),
    start: wrap((instance: string) => provider.start(instance)),
    stop: wrap((instance: string) => provider.stop(instance)),
  };
}
