import { BlockList, isIPv4, isIPv6 } from 'node:net';

/*
 * What kind of network an IP address belongs to. Webhooks (jobs/) refuse every
 * kind but public; a cluster job's host (services/) may be loopback or private,
 * but never link-local (cloud metadata) or unspecified.
 */

/** What kind of address an IP is; anything but 'public' is refused by default. */
export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'shared' | 'multicast' | 'reserved';


// Checked in this order; the first list that holds the address names its kind.
const IPV4_RANGES: Array<[AddressKind, string, number]> = [
  ['unspecified', '0.0.0.0', 32],
  ['reserved', '0.0.0.0', 8], // "this network"; the kernel treats 0.x as the local host
  ['loopback', '127.0.0.0', 8],
  ['private', '10.0.0.0', 8],
  ['private', '172.16.0.0', 12],
  ['private', '192.168.0.0', 16],
  ['link-local', '169.254.0.0', 16],
  ['shared', '100.64.0.0', 10],
  ['multicast', '224.0.0.0', 4],
  ['reserved', '192.0.0.0', 24], // IETF protocol assignments
  ['reserved', '192.0.2.0', 24], // TEST-NET-1
  ['reserved', '192.88.99.0', 24], // 6to4 relay anycast
  ['reserved', '198.18.0.0', 15], // benchmarking
  ['reserved', '198.51.100.0', 24], // TEST-NET-2
  ['reserved', '203.0.113.0', 24], // TEST-NET-3
  ['reserved', '240.0.0.0', 4], // future use, and 255.255.255.255 broadcast
];

const IPV6_RANGES: Array<[AddressKind, string, number]> = [
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['private', 'fc00::', 7], // unique local
  ['private', 'fec0::', 10], // deprecated site-local
  ['private', '64:ff9b:1::', 48], // local-use NAT64
  ['link-local', 'fe80::', 10],
  ['multicast', 'ff00::', 8],
  ['reserved', '100::', 64], // discard-only
  ['reserved', '2001::', 23], // IETF protocol assignments (Teredo included)
  ['reserved', '2001:db8::', 32], // documentation
  ['reserved', '3fff::', 20], // documentation
];

function buildLists(ranges: Array<[AddressKind, string, number]>, family: 'ipv4' | 'ipv6'): Array<[AddressKind, BlockList]> {
  return ranges.map(([kind, network, prefix]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return [kind, list];
  });
}
const IPV4_LISTS = buildLists(IPV4_RANGES, 'ipv4');
const IPV6_LISTS = buildLists(IPV6_RANGES, 'ipv6');

/** The eight 16-bit groups of a valid IPv6 address (dotted-quad tail and "::" expanded). */
export function ipv6Groups(address: string): number[] {
  let text = address.replace(/%.*$/, ''); // zone id
  const quad = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(2).map(Number) as [number, number, number, number];
    text = `${quad[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16));
}

const ipv4Of = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/**
 * The IPv4 address an IPv6 address carries, for the forms that reach an IPv4
 * host: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d),
 * IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4
 * (2002:aabb:ccdd::). Undefined for any other address.
 */
export function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return ipv4Of(g[6]!, g[7]!); // mapped
  if (zero(0, 6) && (g[6] !== 0 || g[7]! > 1)) return ipv4Of(g[6]!, g[7]!); // compatible (not :: or ::1)
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return ipv4Of(g[6]!, g[7]!); // translated
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return ipv4Of(g[6]!, g[7]!); // NAT64 well-known prefix
  if (g[0] === 0x2002) return ipv4Of(g[1]!, g[2]!); // 6to4
  return undefined;
}

/**
 * The kind of an IP address (v4 or v6, IPv4 embedded in IPv6 judged as the
 * IPv4 address it reaches). IPv6 outside global unicast (2000::/3) is reserved.
 * @throws TypeError if `address` is not an IP address.
 */
export function classifyAddress(address: string): AddressKind {
  if (isIPv4(address)) return IPV4_LISTS.find(([, list]) => list.check(address, 'ipv4'))?.[0] ?? 'public';
  const bare = address.replace(/%.*$/, '');
  if (!isIPv6(bare)) throw new TypeError(`'${address}' is not an IP address`);
  const v4 = embeddedIPv4(bare);
  if (v4 !== undefined) return classifyAddress(v4);
  const kind = IPV6_LISTS.find(([, list]) => list.check(bare, 'ipv6'))?.[0];
  if (kind) return kind;
  return (ipv6Groups(bare)[0]! & 0xe000) === 0x2000 ? 'public' : 'reserved';
}

/** Does this host name or address ('localhost', 127.x, ::1, '[::1]') reach this machine only? */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  return (isIPv4(bare) || isIPv6(bare)) && classifyAddress(bare) === 'loopback';
}
