import { BlockList, isIP } from 'node:net';
import { CorralError } from '../errors/index.js';

/**
 * Addresses a service host may not register: link-local (where cloud metadata
 * services live, 169.254.169.254 among them) and unspecified ones. Loopback
 * and private addresses stay allowed: cluster nodes sit on private networks,
 * and a login node may run its jobs on this very machine.
 */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local
FORBIDDEN.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network": 0.0.0.0 and friends
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6'); // link-local
FORBIDDEN.addAddress('::', 'ipv6'); // unspecified
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6'); // AWS instance metadata over IPv6
FORBIDDEN.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud instance metadata

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
  const family = isIP(host);
  if (family !== 0 && FORBIDDEN.check(host, family === 4 ? 'ipv4' : 'ipv6')) {
    throw bad('link-local, unspecified and cloud metadata addresses are not service hosts');
  }
  if (METADATA_NAMES.has(host)) throw bad('cloud metadata services are not service hosts');
  return url.origin;
}
