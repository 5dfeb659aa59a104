import { join } from 'node:path';
import { nodeEntry } from '../config/node-entry.js';
import type { Profile } from '../profiles/index.js';
import type { LaunchSpec } from '../launchers/launcher.js';
import { encodeHostSpec, hostSpecOf } from './host-spec.js';
import type { ServiceRecord } from './service-record.js';
import { SERVICE_TOKEN_ENV } from './service-token.js';

const MAIN = nodeEntry(import.meta.url, '../cli/main');

/**
 * The job that hosts a service on a cluster: `corral host` with the service's
 * definition, told where the gateway is so it can register. Its state and any
 * model download live under the profile's home_dir, never its cache_dir.
 * The launch token travels in the job's environment only: a command line is
 * readable by every user of the node (ps), the batch script is not (0600).
 */
export function jobFor(service: ServiceRecord, profile: Profile, gatewayUrl: string, allowRemoteModels: boolean, token: string): LaunchSpec {
  const home = profile.homeDir ?? join(process.env.HOME ?? '/tmp', '.corral');
  return {
    serviceId: service.id,
    serviceName: service.name,
    command: [process.execPath, ...MAIN.execArgv, MAIN.path, 'host', '--spec', encodeHostSpec(hostSpecOf(service)), '--gateway', gatewayUrl],
    env: {
      CORRAL_HOME: join(home, 'jobs', service.id),
      CORRAL_MODEL_CACHE: join(home, 'hub'),
      CORRAL_ALLOW_REMOTE_MODELS: allowRemoteModels ? '1' : '0',
      CORRAL_WORKERS: String(profile.cpus ?? 1),
      [SERVICE_TOKEN_ENV]: token,
      ...(process.env.CORRAL_SERVICE_HOST_ADDRESS ? { CORRAL_SERVICE_HOST_ADDRESS: process.env.CORRAL_SERVICE_HOST_ADDRESS } : {}),
    },
  };
}
