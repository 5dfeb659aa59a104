import { isIP } from 'node:net';
import { classifyAddress, type AddressKind } from '../net/address-kind.js';
import { CorralError } from '../errors/index.js';

/**
 * A service host may be loopback or private (cluster nodes sit on private
 * networks; a login node may run its jobs on this very machine), but not
 * link-local (where cloud metadata lives, 169.254.169.254 among them),
 * unspecified, multicast or reserved.
 */
const NOT_A_HOST = new Set<AddressKind>(['link-local', 'unspecified', 'multicast', 'reserved']);
/** Metadata services at addresses whose kind is otherwise allowed. */
const METADATA_ADDRESSES = new Set(['fd00:ec2::254', '100.100.100.200']); // AWS over IPv6, Alibaba Cloud

/** Names of cloud metadata services (compared lower-case, without a trailing dot). */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/**
 * Checks the endpoint a job's host registers, before the gateway sends
 * requests (with the host credential) to it, and returns it as an origin
 * ('http://node12:43211'). Throws a 400 naming what is wrong.
 */
export function checkHostEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new CorralError('BAD_REQUEST', 'The registered endpoint cannot be used: it is not a URL.');
  }
  // Named by its host only: an endpoint may carry a password that must not be echoed into logs.
  const bad = (why: string) => new CorralError('BAD_REQUEST', `The registered endpoint (host '${url.host}') cannot be used: ${why}.`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('it must be an http:// or https:// URL');
  if (url.username !== '' || url.password !== '') throw bad('it must not carry a user name or password');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') throw bad('it must be scheme, host and port only (no path, query or fragment)');
  // WHATWG URL parsing has already normalized IPv4 forms like 2852039166 or 0xa9.254.169.254.
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (host === '') throw bad('it has no host');
  if (isIP(host) !== 0 && (NOT_A_HOST.has(classifyAddress(host)) || METADATA_ADDRESSES.has(host))) {
    throw bad('link-local, unspecified and cloud metadata addresses are not service hosts');
  }
  if (METADATA_NAMES.has(host)) throw bad('cloud metadata services are not service hosts');
  return url.origin;
}
