/**
 * Compute Engine boxes through the REST API v1 with plain fetch (no Google SDK):
 * list, status, start and stop of instances that already exist, as Laminoid's
 * controller does. A spot VM Compute Engine reclaimed is PREEMPTED until it is
 * started again; that is read from the zone's compute.instances.preempted
 * operations newer than the instance's last start.
 */
import type { BoxProvider, BoxState, BoxStatus } from './box-provider.js';

export const GCE_DEFAULT_ENDPOINT = 'https://compute.googleapis.com/compute/v1/';

export interface GceProviderOptions {
  project: string;
  zone: string;
  /** The instance names the profile manages, in profile order. */
  instances: string[];
  /** The API root (default https://compute.googleapis.com/compute/v1/). */
  endpointUrl?: string;
  /** An OAuth access token for the API (see gce-token.ts). */
  token: () => Promise<string>;
  /** Per-request limit (default 30 s). */
  timeoutMs?: number;
}

/** The part of a Compute Engine instance resource read here. */
interface GceInstance {
  name: string;
  status: string;
  selfLink?: string;
  lastStartTimestamp?: string;
  networkInterfaces?: Array<{ networkIP?: string; accessConfigs?: Array<{ natIP?: string }> }>;
}

interface GceOperation {
  name: string;
  status?: string;
  insertTime?: string;
  startTime?: string;
  error?: { errors?: Array<{ code?: string; message?: string }> };
}

const GCE_STATES: Readonly<Record<string, BoxState>> = {
  PROVISIONING: 'STARTING',
  STAGING: 'STARTING',
  REPAIRING: 'STARTING',
  RUNNING: 'RUNNING',
  STOPPING: 'STOPPING',
  SUSPENDING: 'STOPPING',
  SUSPENDED: 'STOPPED',
  TERMINATED: 'STOPPED',
  STOPPED: 'STOPPED',
};

/**
 * The box state of a Compute Engine instance status. TERMINATED is PREEMPTED when
 * Compute Engine reclaimed the instance since its last start; a status this table
 * does not know is STOPPED (it cannot serve) and its providerState says which.
 *
 * @example
 * gceBoxState('STAGING')            // 'STARTING'
 * gceBoxState('TERMINATED', true)   // 'PREEMPTED'
 */
export function gceBoxState(gceStatus: string, preemptedSinceStart = false): BoxState {
  if (gceStatus === 'TERMINATED' && preemptedSinceStart) return 'PREEMPTED';
  return GCE_STATES[gceStatus] ?? 'STOPPED';
}

/** The address SSH reaches: the external one, else the internal one. */
export function gceAddress(instance: GceInstance): string | undefined {
  const nic = instance.networkInterfaces?.[0];
  return nic?.accessConfigs?.[0]?.natIP ?? nic?.networkIP;
}

export class GceProvider implements BoxProvider {
  readonly type = 'gce' as const;
  private readonly base: string;

  constructor(private readonly opts: GceProviderOptions) {
    const url = opts.endpointUrl ?? GCE_DEFAULT_ENDPOINT;
    this.base = url.endsWith('/') ? url : `${url}/`;
  }

  async list(): Promise<BoxStatus[]> {
    const found = new Map<string, GceInstance>();
    let pageToken: string | undefined;
    do {
      const page = await this.call<{ items?: GceInstance[]; nextPageToken?: string }>('GET', `${this.zonePath()}/instances${pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : ''}`);
      for (const inst of page.items ?? []) found.set(inst.name, inst);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return Promise.all(this.opts.instances.map((name) => {
      const inst = found.get(name);
      return inst ? this.toStatus(inst) : this.missing(name);
    }));
  }

  async status(instance: string): Promise<BoxStatus> {
    const inst = await this.call<GceInstance>('GET', this.instancePath(instance), { notFound: true });
    return inst ? this.toStatus(inst) : this.missing(instance);
  }

  start(instance: string): Promise<BoxStatus> {
    return this.change(instance, 'start', 'STARTING');
  }

  stop(instance: string): Promise<BoxStatus> {
    return this.change(instance, 'stop', 'STOPPING');
  }

  private async change(instance: string, verb: 'start' | 'stop', asked: BoxState): Promise<BoxStatus> {
    const op = await this.call<GceOperation>('POST', `${this.instancePath(instance)}/${verb}`, { notFound: true });
    if (!op) return this.missing(instance);
    const failure = op.error?.errors?.map((e) => e.message ?? e.code).join('; ');
    if (failure) throw new Error(`Compute Engine could not ${verb} instance '${instance}' (operation ${op.name}): ${failure}`);
    const status = await this.status(instance);
    // Right after the request the instance may not have left its old state yet; the operation says it will.
    const before = verb === 'start' ? ['STOPPED', 'PREEMPTED'] : ['RUNNING', 'STARTING'];
    if (op.status !== 'DONE' && before.includes(status.state)) {
      return { ...status, state: asked, reason: `${verb} requested (operation ${op.name})` };
    }
    return status;
  }

  private async toStatus(inst: GceInstance): Promise<BoxStatus> {
    const preemptedAt = inst.status === 'TERMINATED' ? await this.preemptedSinceStart(inst) : undefined;
    const address = inst.status === 'RUNNING' ? gceAddress(inst) : undefined;
    return {
      instance: inst.name,
      state: gceBoxState(inst.status, preemptedAt !== undefined),
      zone: this.opts.zone,
      ...(address ? { address } : {}),
      providerState: inst.status,
      ...(preemptedAt ? { reason: `preempted by Compute Engine at ${preemptedAt}` } : {}),
    };
  }

  /** The time of the latest preemption of `inst` after its last start, if any. */
  private async preemptedSinceStart(inst: GceInstance): Promise<string | undefined> {
    const target = inst.selfLink ?? `${this.base}${this.instancePath(inst.name)}`;
    const filter = `operationType = "compute.instances.preempted" AND targetLink = "${target}"`;
    const since = inst.lastStartTimestamp ? Date.parse(inst.lastStartTimestamp) : -Infinity;
    let latest: { at: number; text: string } | undefined;
    let pageToken: string | undefined;
    do {
      const query = `filter=${encodeURIComponent(filter)}${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
      const page = await this.call<{ items?: GceOperation[]; nextPageToken?: string }>('GET', `${this.zonePath()}/operations?${query}`);
      for (const op of page.items ?? []) {
        const text = op.insertTime ?? op.startTime;
        const at = text ? Date.parse(text) : NaN;
        if (text && at > since && (!latest || at > latest.at)) latest = { at, text };
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    return latest?.text;
  }

  private missing(instance: string): BoxStatus {
    return { instance, state: 'MISSING', zone: this.opts.zone, reason: `Compute Engine has no instance '${instance}' in project '${this.opts.project}', zone '${this.opts.zone}'` };
  }

  private zonePath(): string {
    return `projects/${encodeURIComponent(this.opts.project)}/zones/${encodeURIComponent(this.opts.zone)}`;
  }

  private instancePath(instance: string): string {
    return `${this.zonePath()}/instances/${encodeURIComponent(instance)}`;
  }

  /** One API call; with `notFound`, a 404 is undefined instead of an error. */
  private async call<T>(method: 'GET' | 'POST', path: string, opts: { notFound: true }): Promise<T | undefined>;
  private async call<T>(method: 'GET' | 'POST', path: string): Promise<T>;
  private async call<T>(method: 'GET' | 'POST', path: string, opts: { notFound?: boolean } = {}): Promise<T | undefined> {
    const url = `${this.base}${path}`;
    const token = await this.opts.token();
    let res: Response;
    try {
      res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (err) {
      throw new Error(`Cannot reach the Compute Engine API at ${this.base}: ${describe(err)}`, { cause: err });
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.ok && body !== undefined) return body as T;
    if (res.status === 404 && opts.notFound) return undefined;
    const apiMessage = (body as { error?: { message?: string } } | undefined)?.error?.message ?? (text.slice(0, 200) || res.statusText);
    if (res.status === 401 || res.status === 403) {
      throw new Error(
        `Compute Engine refused the access token (HTTP ${res.status} on ${method} ${url}: ${apiMessage}). ` +
          'Give Corral a token with access to the project: CORRAL_GCE_TOKEN_COMMAND (a command printing one), GOOGLE_APPLICATION_CREDENTIALS (read with gcloud auth application-default print-access-token), or run it on a Compute Engine VM whose service account may start and stop the instances.',
      );
    }
    if (res.ok) throw new Error(`Compute Engine answered ${method} ${url} with a body that is not JSON: ${text.slice(0, 200)}`);
    throw new Error(`Compute Engine API error on ${method} ${url} (HTTP ${res.status}): ${apiMessage}`);
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
