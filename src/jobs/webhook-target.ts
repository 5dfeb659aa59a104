import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { classifyAddress, type AddressKind } from '../net/address-kind.js';
import { CorralError } from '../errors/index.js';

/**
 * Where a webhook may go. A job's webhook is POSTed by the gateway, from inside
 * the deployment's network, so a URL that names (or resolves to) a loopback,
 * private, link-local or otherwise internal address would let any API client
 * make the gateway talk to services that are not theirs (cloud metadata at
 * 169.254.169.254, Redis, admin UIs). Such targets are refused unless the
 * operator sets CORRAL_WEBHOOK_ALLOW_PRIVATE=1. The check is made on every
 * address the host resolves to, and delivery then connects to exactly the
 * checked addresses (see webhook.ts), so a DNS answer that changes between the
 * check and the connection cannot slip past it.
 */

const KIND_TEXT: Record<Exclude<AddressKind, 'public'>, string> = {
  loopback: 'a loopback address',
  private: 'a private-network address',
  'link-local': 'a link-local address',
  unspecified: 'the unspecified address',
  shared: 'a carrier-grade NAT (shared, 100.64.0.0/10) address',
  multicast: 'a multicast address',
  reserved: 'a reserved (non-public) address',
};

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses (dns.lookup with all: true). */
export type WebhookLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: WebhookLookup = (hostname) => dnsLookup(hostname, { all: true });

/** A webhook URL that passed the check, with the addresses delivery must connect to. */
export interface WebhookTarget {
  url: URL;
  /** The URL's host name without IPv6 brackets: the Host header and TLS server name. */
  hostname: string;
  /** Every address the name resolved to, all checked; the first is preferred. */
  addresses: ResolvedAddress[];
}

/** Why a webhook URL was refused; `reason` tells delivery whether trying again may help. */
export class WebhookTargetError extends CorralError {
  constructor(readonly reason: 'invalid' | 'unresolvable' | 'refused', message: string, cause?: unknown) {
    super('BAD_REQUEST', message, { cause });
  }
}

export interface WebhookCheckOptions {
  /** CORRAL_WEBHOOK_ALLOW_PRIVATE: skip the address check (names must still resolve). */
  allowPrivate: boolean;
  lookup?: WebhookLookup;
  /** Bound on name resolution. */
  lookupTimeoutMs?: number;
}

const OPT_IN = 'webhooks may reach public addresses only, unless the gateway runs with CORRAL_WEBHOOK_ALLOW_PRIVATE=1';

/**
 * Parses a webhook URL (http or https, no user name or password), resolves its
 * host and checks every address it resolves to.
 * @throws WebhookTargetError (400 BAD_REQUEST) saying why the URL is refused.
 */
export async function checkWebhookTarget(raw: string, options: WebhookCheckOptions): Promise<WebhookTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new WebhookTargetError('invalid', `Webhook '${raw}' is not a valid URL.`, err);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookTargetError('invalid', `Webhook URLs must use http or https, not '${url.protocol.replace(/:$/, '')}'.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new WebhookTargetError('invalid', 'Webhook URLs may not carry a user name or password; receivers authenticate deliveries by their X-Corral-Signature header.');
  }
  // new URL has already turned 0x7f000001, 017700000001, 2130706433 and 127.1 into 127.0.0.1.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: ResolvedAddress[];
  if (isIP(hostname)) {
    addresses = [{ address: hostname, family: isIP(hostname) }];
  } else {
    addresses = await resolve(hostname, options.lookup ?? systemLookup, options.lookupTimeoutMs ?? 5000);
  }
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      const kind = classifyAddress(address);
      if (kind === 'public') continue;
      const what = address === hostname ? `Webhook address ${address} is ${KIND_TEXT[kind]}` : `Webhook host '${hostname}' resolves to ${address}, ${KIND_TEXT[kind]}`;
      throw new WebhookTargetError('refused', `${what}; ${OPT_IN}.`);
    }
  }
  return { url, hostname, addresses };
}

async function resolve(hostname: string, lookup: WebhookLookup, timeoutMs: number): Promise<ResolvedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEOUT' })), timeoutMs);
  });
  try {
    const addresses = await Promise.race([lookup(hostname), timeout]);
    if (addresses.length === 0) throw Object.assign(new Error('no addresses'), { code: 'ENODATA' });
    return addresses;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new WebhookTargetError('unresolvable', `Webhook host '${hostname}' cannot be resolved (${code}).`, err);
  } finally {
    clearTimeout(timer);
  }
}
