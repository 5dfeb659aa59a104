/**
 * EC2 boxes: instances that already exist in one region, listed, started and
 * stopped through the EC2 API (@aws-sdk/client-ec2). Credentials come from the
 * SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE,
 * an instance role, ...); `endpointUrl` points it elsewhere (a proxy, moto).
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
  type Instance,
  type InstanceStateChange,
} from '@aws-sdk/client-ec2';
import type { BoxProvider, BoxState, BoxStatus } from './box-provider.js';

export interface Ec2ProviderOptions {
  region: string;
  /** Instance ids, as the profile lists them. */
  instances: string[];
  /** The EC2 API's address instead of AWS's own. */
  endpointUrl?: string;
  /** Attempts per API call, retries included (the SDK's default is 3). */
  maxAttempts?: number;
}

/** EC2's error codes for an instance id it does not know (or that cannot be one). */
const UNKNOWN_ID_CODES = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

const STATE_OF: Record<string, BoxState> = {
  pending: 'STARTING',
  running: 'RUNNING',
  stopping: 'STOPPING',
  'shutting-down': 'STOPPING',
  stopped: 'STOPPED',
  terminated: 'MISSING',
};

/**
 * The box status of one described EC2 instance. A stopped spot instance whose
 * state reason is Server.SpotInstance* was reclaimed by AWS: PREEMPTED. A
 * terminated instance is gone for good (it cannot be started again): MISSING.
 */
export function ec2BoxState(instance: Instance, id: string = instance.InstanceId ?? ''): BoxStatus {
  const name = instance.State?.Name ?? '';
  const mapped = STATE_OF[name];
  if (mapped === undefined) throw new Error(`EC2 reported state '${name || '(none)'}' for instance ${id}, which Corral does not know (expected ${Object.keys(STATE_OF).join(', ')}).`);
  const reasonCode = instance.StateReason?.Code ?? '';
  const reasonMessage = instance.StateReason?.Message || reasonCode || undefined;
  let state: BoxState = mapped;
  let reason: string | undefined;
  if (name === 'stopped' && reasonCode.startsWith('Server.SpotInstance')) {
    state = 'PREEMPTED';
    reason = reasonMessage;
  } else if (name === 'terminated') {
    reason = `The instance is terminated; a terminated instance cannot be started again${reasonMessage ? ` (${reasonMessage})` : ''}.`;
  }
  const status: BoxStatus = { instance: id, state, providerState: name };
  const zone = instance.Placement?.AvailabilityZone;
  if (zone) status.zone = zone;
  const address = instance.PublicIpAddress || instance.PrivateIpAddress;
  if (address) status.address = address;
  if (reason) status.reason = reason;
  return status;
}

function missing(id: string): BoxStatus {
  return { instance: id, state: 'MISSING', reason: 'EC2 does not know this instance id.' };
}

function errorCode(error: unknown): string {
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  for (const c of [e?.Code, e?.name, e?.code]) if (typeof c === 'string' && c !== '' && c !== 'Error') return c;
  return '';
}

export class Ec2Provider implements BoxProvider {
  readonly type = 'ec2' as const;
  private readonly client: EC2Client;

  constructor(private readonly options: Ec2ProviderOptions) {
    this.client = new EC2Client({
      region: options.region,
      ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
    });
  }

  /** Every instance of the profile, in its order; the ones EC2 does not know are MISSING. */
  async list(): Promise<BoxStatus[]> {
    const ids = [...new Set(this.options.instances)];
    if (ids.length === 0) return [];
    let found: Map<string, BoxStatus>;
    try {
      found = await this.describe(ids);
    } catch (error) {
      if (!UNKNOWN_ID_CODES.has(errorCode(error))) throw this.failure('DescribeInstances', error);
      // One unknown id fails the whole call: ask one by one so the others still report.
      const each = await Promise.all(ids.map((id) => this.status(id)));
      found = new Map(each.map((s) => [s.instance, s]));
    }
    return this.options.instances.map((id) => found.get(id) ?? missing(id));
  }

  async status(instance: string): Promise<BoxStatus> {
    try {
      return (await this.describe([instance])).get(instance) ?? missing(instance);
    } catch (error) {
      if (UNKNOWN_ID_CODES.has(errorCode(error))) return missing(instance);
      throw this.failure('DescribeInstances', error);
    }
  }

  async start(instance: string): Promise<BoxStatus> {
    let change: InstanceStateChange | undefined;
    try {
      change = (await this.client.send(new StartInstancesCommand({ InstanceIds: [instance] }))).StartingInstances?.[0];
    } catch (error) {
      if (UNKNOWN_ID_CODES.has(errorCode(error))) return missing(instance);
      throw this.failure('StartInstances', error, instance);
    }
    return this.after(instance, change);
  }

  async stop(instance: string): Promise<BoxStatus> {
    let change: InstanceStateChange | undefined;
    try {
      change = (await this.client.send(new StopInstancesCommand({ InstanceIds: [instance] }))).StoppingInstances?.[0];
    } catch (error) {
      if (UNKNOWN_ID_CODES.has(errorCode(error))) return missing(instance);
      throw this.failure('StopInstances', error, instance);
    }
    return this.after(instance, change);
  }

  /**
   * The status right after a start or stop: the instance as described now, except
   * that a describe still showing the state from before the request (EC2 is
   * eventually consistent) gives way to the state the request reported.
   */
  private async after(instance: string, change: InstanceStateChange | undefined): Promise<BoxStatus> {
    const now = await this.status(instance);
    const current = change?.CurrentState?.Name;
    if (current && current !== now.providerState && now.providerState === change?.PreviousState?.Name) {
      const fromChange = ec2BoxState({ InstanceId: instance, State: change.CurrentState }, instance);
      return { ...now, state: fromChange.state, providerState: current, reason: undefined };
    }
    return now;
  }

  private async describe(ids: string[]): Promise<Map<string, BoxStatus>> {
    const found = new Map<string, BoxStatus>();
    let nextToken: string | undefined;
    do {
      const out = await this.client.send(new DescribeInstancesCommand({ InstanceIds: ids, NextToken: nextToken }));
      for (const reservation of out.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (instance.InstanceId) found.set(instance.InstanceId, ec2BoxState(instance));
        }
      }
      nextToken = out.NextToken || undefined;
    } while (nextToken);
    return found;
  }

  /** A plain Error saying which call failed where, and what to check. */
  private failure(operation: string, error: unknown, instance?: string): Error {
    const code = errorCode(error);
    const message = (error instanceof Error ? error.message : String(error)).trim().replace(/\.$/, '');
    const where = `region ${this.options.region}${this.options.endpointUrl ? ` at ${this.options.endpointUrl}` : ''}`;
    const what = `EC2 ${operation}${instance ? ` for instance ${instance}` : ''} (${where}) failed`;
    let hint = '';
    if (code === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
      hint = ' Give Corral AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role.';
    } else if (code === 'AuthFailure' || code === 'UnauthorizedOperation' || code === 'InvalidClientTokenId' || code === 'SignatureDoesNotMatch') {
      hint = ' Check the AWS credentials and that their IAM policy allows ec2:DescribeInstances, ec2:StartInstances and ec2:StopInstances.';
    } else if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'TimeoutError'].includes(code) || /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|socket hang up/.test(message)) {
      hint = ` The EC2 API could not be reached; check the network${this.options.endpointUrl ? ' and endpoint_url' : ''} and the region.`;
    } else if (code === 'IncorrectInstanceState') {
      hint = ' The instance is in a state this request does not apply to; check it with GET /api/boxes.';
    }
    return new Error(`${what}: ${code && !message.startsWith(code) ? `${code}: ` : ''}${message || 'no message'}.${hint}`, { cause: error });
  }
}
