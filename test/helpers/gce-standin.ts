/**
 * A local stand-in of the Compute Engine REST API v1 (instances and zone
 * operations only) on 127.0.0.1, holding instances in memory. The real gcloud
 * CLI accepts it (CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=<url>), so a test can
 * prove it with gcloud before testing Corral's GceProvider on it.
 *
 * start and stop answer with a RUNNING operation and move the instance through
 * STAGING -> RUNNING and STOPPING -> TERMINATED after `transitionMs`, so pollers
 * see the states in between. Every request must carry `Authorization: Bearer <token>`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GceStandinOptions {
  /** The only token accepted (401 otherwise). */
  token: string;
  /** The one project served (default 'proj'); others are not found. */
  project?: string;
  /** How long STAGING and STOPPING last (default 300 ms). */
  transitionMs?: number;
  /** How long an instance keeps its old status after start or stop before STAGING or STOPPING (default 0: at once), as Compute Engine sometimes does. */
  pendingMs?: number;
  /** Items per page of list answers; unset: one page. */
  pageSize?: number;
}

export interface AddInstanceOptions {
  /** Default TERMINATED, as a box that was stopped. */
  status?: string;
  /** The internal address (default 10.128.0.N). */
  networkIP?: string;
  /** The external address, while RUNNING; null for an instance with no access config. */
  natIP?: string | null;
}

type Json = Record<string, unknown>;

interface Instance {
  id: string;
  name: string;
  zone: string;
  status: string;
  creationTimestamp: string;
  lastStartTimestamp?: string;
  lastStopTimestamp?: string;
  networkIP: string;
  natIP: string | null;
}

interface Operation extends Json {
  name: string;
  zone: string;
  status: string;
  operationType: string;
  targetLink: string;
}

/** Google's time format: RFC 3339 with an offset. */
const now = (offsetMs = 0): string => new Date(Date.now() + offsetMs).toISOString().replace('Z', '+00:00');
const numericId = (): string => BigInt(`0x${randomBytes(7).toString('hex')}`).toString();

export class GceStandin {
  /** What the stand-in was asked, as 'METHOD /path?query' lines, for tests to inspect. */
  readonly requests: string[] = [];
  private readonly instances = new Map<string, Instance>();
  private readonly operations = new Map<string, Operation>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly project: string;
  private readonly transitionMs: number;
  private base = '';

  private constructor(private readonly server: Server, private readonly opts: GceStandinOptions) {
    this.project = opts.project ?? 'proj';
    this.transitionMs = opts.transitionMs ?? 300;
  }

  static async start(opts: GceStandinOptions): Promise<GceStandin> {
    let standin: GceStandin | undefined;
    const server = createServer((req, res) => {
      void standin!.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, googleError(500, String(err), 'backendError'));
      });
    });
    standin = new GceStandin(server, opts);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    standin.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/compute/v1/`;
    return standin;
  }

  /** The API root to give clients, ending in /compute/v1/. */
  get url(): string {
    return this.base;
  }

  addInstance(zone: string, name: string, options: AddInstanceOptions = {}): void {
    const n = this.instances.size + 2;
    this.instances.set(`${zone}/${name}`, {
      id: numericId(), name, zone, status: options.status ?? 'TERMINATED', creationTimestamp: now(),
      networkIP: options.networkIP ?? `10.128.0.${n}`,
      natIP: options.natIP === undefined ? `203.0.113.${n}` : options.natIP,
      // An instance added RUNNING has been up a while (a preemption now is after its start).
      ...(options.status === 'RUNNING' ? { lastStartTimestamp: now(-60_000) } : {}),
    });
  }

  /** The instance's GCE status, or undefined when there is none. */
  statusOf(zone: string, name: string): string | undefined {
    return this.instances.get(`${zone}/${name}`)?.status;
  }

  /** What Compute Engine does to a spot VM it reclaims: TERMINATED at once, and a compute.instances.preempted operation. */
  preempt(zone: string, name: string): Json {
    const inst = this.mustGet(zone, name);
    inst.status = 'TERMINATED';
    inst.lastStopTimestamp = now();
    const op = this.operation(inst, 'compute.instances.preempted', 'DONE');
    Object.assign(op, { user: 'system', statusMessage: 'Instance was preempted.' });
    return op;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private mustGet(zone: string, name: string): Instance {
    const inst = this.instances.get(`${zone}/${name}`);
    if (!inst) throw new Error(`The stand-in has no instance ${zone}/${name}`);
    return inst;
  }

  private zoneLink(zone: string): string {
    return `${this.base}projects/${this.project}/zones/${zone}`;
  }

  private instanceJson(inst: Instance): Json {
    const zoneLink = this.zoneLink(inst.zone);
    const running = inst.status === 'RUNNING';
    return {
      kind: 'compute#instance',
      id: inst.id,
      creationTimestamp: inst.creationTimestamp,
      name: inst.name,
      machineType: `${zoneLink}/machineTypes/g2-standard-4`,
      status: inst.status,
      zone: zoneLink,
      canIpForward: false,
      networkInterfaces: [{
        kind: 'compute#networkInterface',
        name: 'nic0',
        network: `${this.base}projects/${this.project}/global/networks/default`,
        subnetwork: `${this.base}projects/${this.project}/regions/${inst.zone.replace(/-[a-z]$/, '')}/subnetworks/default`,
        networkIP: inst.networkIP,
        stackType: 'IPV4_ONLY',
        accessConfigs: inst.natIP === null ? [] : [{
          kind: 'compute#accessConfig', name: 'External NAT', type: 'ONE_TO_ONE_NAT', networkTier: 'PREMIUM',
          // Compute Engine gives an ephemeral external address only while the instance runs.
          ...(running ? { natIP: inst.natIP } : {}),
        }],
      }],
      disks: [{
        kind: 'compute#attachedDisk', type: 'PERSISTENT', mode: 'READ_WRITE', boot: true, autoDelete: true, index: 0,
        deviceName: inst.name, source: `${zoneLink}/disks/${inst.name}`, interface: 'SCSI',
      }],
      scheduling: { onHostMaintenance: 'TERMINATE', automaticRestart: false, preemptible: true, provisioningModel: 'SPOT', instanceTerminationAction: 'STOP' },
      selfLink: `${zoneLink}/instances/${inst.name}`,
      ...(inst.lastStartTimestamp ? { lastStartTimestamp: inst.lastStartTimestamp } : {}),
      ...(inst.lastStopTimestamp ? { lastStopTimestamp: inst.lastStopTimestamp } : {}),
      labelFingerprint: '42WmSpB8rSM=',
      fingerprint: 'iq0MkZ3Ui8c=',
      cpuPlatform: running ? 'Intel Cascade Lake' : 'Unknown CPU Platform',
    };
  }

  private operation(inst: Instance, operationType: string, status: 'RUNNING' | 'DONE'): Operation {
    const name = `operation-${Date.now()}-${randomBytes(6).toString('hex')}`;
    const zoneLink = this.zoneLink(inst.zone);
    const time = now();
    const op: Operation = {
      kind: 'compute#operation',
      id: numericId(),
      name,
      zone: zoneLink,
      operationType,
      targetLink: `${zoneLink}/instances/${inst.name}`,
      targetId: inst.id,
      status,
      user: 'corral-test@proj.iam.gserviceaccount.com',
      progress: status === 'DONE' ? 100 : 0,
      insertTime: time,
      startTime: time,
      ...(status === 'DONE' ? { endTime: time } : {}),
      selfLink: `${zoneLink}/operations/${name}`,
    };
    this.operations.set(`${inst.zone}/${name}`, op);
    return op;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private finish(op: Operation): void {
    Object.assign(op, { status: 'DONE', progress: 100, endTime: now() });
  }

  /** start or stop, as Compute Engine does them: a no-op DONE operation when there is nothing to do. */
  private change(inst: Instance, verb: 'start' | 'stop'): Operation {
    const [from, through, to] = verb === 'start' ? [['TERMINATED', 'STOPPED'], 'STAGING', 'RUNNING'] : [['RUNNING', 'STAGING', 'PROVISIONING'], 'STOPPING', 'TERMINATED'];
    if (!from.includes(inst.status)) return this.operation(inst, verb, 'DONE');
    const op = this.operation(inst, verb, 'RUNNING');
    const arrive = (): void => {
      inst.status = to;
      if (verb === 'start') inst.lastStartTimestamp = now();
      else inst.lastStopTimestamp = now();
      this.finish(op);
    };
    const pending = this.opts.pendingMs ?? 0;
    if (pending === 0) {
      inst.status = through;
      this.later(this.transitionMs, arrive);
    } else {
      this.later(pending, () => {
        inst.status = through;
        this.later(this.transitionMs, arrive);
      });
    }
    return op;
  }

  private page<T>(items: T[], url: URL): { items: T[]; nextPageToken?: string } {
    const size = this.opts.pageSize;
    if (size === undefined) return { items };
    const from = Number(url.searchParams.get('pageToken') ?? '0');
    const rest = from + size < items.length ? { nextPageToken: String(from + size) } : {};
    return { items: items.slice(from, from + size), ...rest };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}${url.search}`);
    for await (const _ of req); // drain any body (gcloud sends none that matter here)
    if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return send(res, 401, googleError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', 'authError', 'UNAUTHENTICATED'));
    }
    const parts = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    // compute v1 projects P ...
    if (parts[0] !== 'compute' || parts[1] !== 'v1' || parts[2] !== 'projects') return send(res, 404, googleError(404, `Not found: ${url.pathname}`, 'notFound'));
    const [project, kind, zone, collection, name, action, extra] = parts.slice(3);
    if (project !== this.project) return send(res, 404, googleError(404, `The resource 'projects/${project}' was not found`, 'notFound'));

    if (method === 'GET' && kind === 'aggregated' && zone === 'instances' && collection === undefined) {
      const byZone: Record<string, Json> = {};
      for (const inst of this.instances.values()) {
        const key = `zones/${inst.zone}`;
        ((byZone[key] ??= { instances: [] }).instances as Json[]).push(this.instanceJson(inst));
      }
      return send(res, 200, { kind: 'compute#instanceAggregatedList', id: `projects/${project}/aggregated/instances`, items: byZone, selfLink: `${this.base}projects/${project}/aggregated/instances` });
    }
    if (kind !== 'zones' || zone === undefined) return send(res, 404, googleError(404, `Not found: ${url.pathname}`, 'notFound'));
    const zoneLink = this.zoneLink(zone);

    if (collection === 'instances') {
      if (name === undefined && method === 'GET') {
        const all = [...this.instances.values()].filter((i) => i.zone === zone).map((i) => this.instanceJson(i));
        return send(res, 200, { kind: 'compute#instanceList', id: `projects/${project}/zones/${zone}/instances`, ...this.page(all, url), selfLink: `${zoneLink}/instances` });
      }
      if (name === undefined || extra !== undefined) return send(res, 404, googleError(404, `Not found: ${url.pathname}`, 'notFound'));
      const inst = this.instances.get(`${zone}/${name}`);
      if (!inst) return send(res, 404, googleError(404, `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`, 'notFound'));
      if (method === 'GET' && action === undefined) return send(res, 200, this.instanceJson(inst));
      if (method === 'POST' && (action === 'start' || action === 'stop')) return send(res, 200, this.change(inst, action));
      return send(res, 405, googleError(405, `Method ${method} not allowed on ${url.pathname}`, 'httpMethodNotAllowed'));
    }

    if (collection === 'operations') {
      if (name === undefined && method === 'GET') {
        const filter = url.searchParams.get('filter');
        const match = filter ? parseFilter(filter) : () => true;
        if (!match) return send(res, 400, googleError(400, `Invalid value for field 'filter': '${filter}'. Invalid list filter expression.`, 'invalid'));
        const all = [...this.operations.values()].filter((op) => op.zone === zoneLink && match(op));
        return send(res, 200, { kind: 'compute#operationList', id: `projects/${project}/zones/${zone}/operations`, ...this.page(all, url), selfLink: `${zoneLink}/operations` });
      }
      const op = name === undefined ? undefined : this.operations.get(`${zone}/${name}`);
      if (!op) return send(res, 404, googleError(404, `The resource 'projects/${project}/zones/${zone}/operations/${name}' was not found`, 'notFound'));
      if (method === 'GET' && action === undefined) return send(res, 200, op);
      if (method === 'POST' && action === 'wait') {
        // Like Compute Engine's wait: answers when the operation is DONE, or after a while regardless.
        const deadline = Date.now() + 10 * (this.transitionMs + (this.opts.pendingMs ?? 0)) + 1000;
        while (op.status !== 'DONE' && Date.now() < deadline && !res.destroyed) await new Promise((r) => setTimeout(r, 20));
        return send(res, 200, op);
      }
      return send(res, 405, googleError(405, `Method ${method} not allowed on ${url.pathname}`, 'httpMethodNotAllowed'));
    }
    return send(res, 404, googleError(404, `Not found: ${url.pathname}`, 'notFound'));
  }
}

/**
 * The part of Compute Engine's list filter the stand-in understands: comparisons
 * `field = "value"` and `field != "value"` (optionally parenthesised), joined by
 * AND or blanks. Returns undefined for anything else.
 */
function parseFilter(filter: string): ((item: Json) => boolean) | undefined {
  const term = /\s*\(?\s*([A-Za-z][\w.]*)\s*(!=|=)\s*"([^"]*)"\s*\)?\s*(?:AND\b)?/y;
  const tests: Array<(item: Json) => boolean> = [];
  while (term.lastIndex < filter.length) {
    const m = term.exec(filter);
    if (!m) return undefined;
    const [, field, op, value] = m as unknown as [string, string, string, string];
    tests.push((item) => (String(item[field]) === value) === (op === '='));
  }
  return tests.length === 0 ? undefined : (item) => tests.every((t) => t(item));
}

function googleError(code: number, message: string, reason: string, status?: string): Json {
  return { error: { code, message, errors: [{ message, domain: 'global', reason }], ...(status ? { status } : {}) } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
