/**
 * Reads whether a Linux machine has a network from its routing tables in procfs. A default route is the
 * cheapest signal that does not need NetworkManager or D-Bus (headless servers have neither), and it is
 * what NetworkManager itself reports as "no default route" = offline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { NetworkState } from '../engine/conditions.js';

/** Route flags from <linux/route.h> (the same bits in /proc/net/route and /proc/net/ipv6_route). */
const RTF_UP = 0x0001;
/** `ip route add unreachable|prohibit|blackhole default`: a default that goes nowhere. */
const RTF_REJECT = 0x0200;

/**
 * `'online'` when the IPv4 or IPv6 table has a usable default route on an interface other than `lo`,
 * `'offline'` when a table could be read and has none, `'unknown'` when neither table could be read
 * (procfs not mounted, a sandbox that hides it). Never throws.
 *
 * A route counts when it is UP and not a reject route: the kernel adds an unreachable `::/0` on `lo` on
 * many machines, and an administrator's `unreachable default` must not read as a network.
 *
 * @param procRoot Where procfs is mounted; tests pass a fake tree with `net/route` and `net/ipv6_route`.
 */
export function readLinuxNetwork(procRoot = '/proc'): NetworkState {
  const ipv4 = readText(join(procRoot, 'net', 'route'));
  const ipv6 = readText(join(procRoot, 'net', 'ipv6_route'));
  if (ipv4 === null && ipv6 === null) return 'unknown';
  if (ipv4 !== null && hasIpv4Default(ipv4)) return 'online';
  if (ipv6 !== null && hasIpv6Default(ipv6)) return 'online';
  return 'offline';
}

/**
 * `/proc/net/route`: a header line, then `Iface Destination Gateway Flags RefCnt Use Metric Mask MTU
 * Window IRTT`, addresses in host-order hex. The default route is destination and mask 00000000.
 */
function hasIpv4Default(text: string): boolean {
  return text
    .split('\n')
    .slice(1)
    .some((line) => {
      const [iface, destination, , flags, , , , mask] = line.trim().split(/\s+/);
      return destination === '00000000' && mask === '00000000' && iface !== undefined && usable(iface, flags);
    });
}

/**
 * `/proc/net/ipv6_route`: no header; `dest destPrefixLen src srcPrefixLen nextHop metric refCnt use flags
 * iface`, addresses as 32 hex digits. The default route is `::/0`: all-zero destination, prefix length 00.
 */
function hasIpv6Default(text: string): boolean {
  return text.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) return false;
    const [destination, prefixLength] = fields;
    return destination === '0'.repeat(32) && prefixLength === '00' && usable(fields[9]!, fields[8]);
  });
}

function usable(iface: string, flagsHex: string | undefined): boolean {
  if (iface === 'lo' || flagsHex === undefined || !/^[0-9a-fA-F]+$/.test(flagsHex)) return false;
  const flags = Number.parseInt(flagsHex, 16);
  return (flags & RTF_UP) !== 0 && (flags & RTF_REJECT) === 0;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
