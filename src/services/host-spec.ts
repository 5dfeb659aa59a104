import type { ServiceRecord } from './service-record.js';

/** What a remote service host needs to recreate a service locally inside its job. */
export interface HostSpec {
  id: string;
  name: string;
  runtime: string;
  task: string;
  model: string;
  modelPath: string;
  revision: string | null;
  options: Record<string, unknown>;
  replicas: number;
  batching: ServiceRecord['batching'];
}

export const hostSpecOf = (s: ServiceRecord): HostSpec => ({
  id: s.id, name: s.name, runtime: s.runtime, task: s.task, model: s.model, modelPath: s.modelPath,
  revision: s.revision, options: s.options, replicas: s.replicas, batching: s.batching,
});

export const encodeHostSpec = (spec: HostSpec) => Buffer.from(JSON.stringify(spec)).toString('base64url');
export const decodeHostSpec = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as HostSpec;
