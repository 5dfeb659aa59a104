import { CorralError } from '../errors/index.js';
import { instancesOf, type Profile } from '../profiles/index.js';
import type { BoxProvider, BoxStatus } from './box-provider.js';
import { CommandProvider } from './command-provider.js';
import type { Ec2ProviderOptions } from './ec2-provider.js';
import { GceProvider } from './gce-provider.js';
import { gceTokenSource } from './gce-token.js';

/**
 * Makes the provider of a box profile, once per profile definition (a changed
 * profile gets a new one): gce, ec2 or the profile's own commands.
 */
export function boxProviderFactory(): (profile: Profile) => BoxProvider {
  const cache = new Map<string, BoxProvider>();
  return (profile) => {
    const key = JSON.stringify(profile);
    let provider = cache.get(key);
    if (provider) return provider;
    provider = providerFor(profile);
    cache.set(key, provider);
    return provider;
  };
}

function providerFor(profile: Profile): BoxProvider {
  const instances = instancesOf(profile);
  const lacking = (field: string) => new CorralError('BAD_REQUEST', `Profile '${profile.name}' (${profile.type}) has no ${field}; add it to its section in profiles.cfg.`);
  switch (profile.type) {
    case 'ec2':
      if (!profile.region) throw lacking('region');
      return lazyEc2({ region: profile.region, instances, endpointUrl: profile.endpointUrl });
    case 'gce':
      if (!profile.project) throw lacking('project');
      if (!profile.zone) throw lacking('zone');
      return new GceProvider({ project: profile.project, zone: profile.zone, instances, endpointUrl: profile.endpointUrl, token: gceTokenSource() });
    case 'command':
      if (!profile.startCommand) throw lacking('start_command');
      if (!profile.stopCommand) throw lacking('stop_command');
      if (!profile.statusCommand) throw lacking('status_command');
      return new CommandProvider({ instances, startCommand: profile.startCommand, stopCommand: profile.stopCommand, statusCommand: profile.statusCommand });
    default:
      throw new CorralError('BAD_REQUEST', `Profile '${profile.name}' is a ${profile.type} profile, not a box profile (gce, ec2 or command).`);
  }
}

/**
 * The AWS SDK's EC2 client is about 90 MB resident once imported: it is loaded on an
 * ec2 profile's first call, so a gateway without one never pays for it.
 */
function lazyEc2(options: Ec2ProviderOptions): BoxProvider {
  let provider: Promise<BoxProvider> | undefined;
  const load = () => (provider ??= import('./ec2-provider.js').then(({ Ec2Provider }) => new Ec2Provider(options)));
  return {
    type: 'ec2',
    list: async (): Promise<BoxStatus[]> => (await load()).list(),
    status: async (instance) => (await load()).status(instance),
    start: async (instance) => (await load()).start(instance),
    stop: async (instance) => (await load()).stop(instance),
  };
}
