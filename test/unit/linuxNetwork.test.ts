import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { readLinuxNetwork } from '../../src/conditions/linuxNetwork.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-net-'));
after(() => rmSync(base, { recursive: true, force: true }));

const ROUTE_HEADER = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT';
/** IPv4 rows as the kernel prints them (captured from a Debian 12 VM). */
const V4_DEFAULT = 'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0';
const V4_SUBNET = 'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0';
const V4_LOOPBACK_DEFAULT = 'lo\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0';
const V4_DEFAULT_DOWN = 'eth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0';
/** `ip route add unreachable default`: UP | REJECT, on no interface. */
const V4_UNREACHABLE_DEFAULT = '*\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0';

const ZERO = '0'.repeat(32);
const V6_DEFAULT =
  `${ZERO} 00 ${ZERO} 00 fd000000000000000000000000000001 00000400 00000002 ` + `00000000 00000003     eth0`;
const V6_LINK = `fe800000000000000000000000000000 40 ${ZERO} 00 ${ZERO} 00000100 00000002 00000000 00000001     eth0`;
const V6_LOOPBACK =
  `00000000000000000000000000000001 80 ${ZERO} 00 ${ZERO} 00000000 00000002 ` + `00000000 80200001       lo`;
/** The unreachable ::/0 many kernels keep on lo. */
const V6_LO_UNREACHABLE = `${ZERO} 00 ${ZERO} 00 ${ZERO} ffffffff 00000001 00000000 00200200       lo`;

let trees = 0;
/** Builds a fake procfs with net/route and net/ipv6_route; `null` leaves a file out. */
function proc(route: string[] | null, ipv6Route: string[] | null): string {
  const root = join(base, `proc-${trees++}`);
  mkdirSync(join(root, 'net'), { recursive: true });
  if (route) writeFileSync(join(root, 'net', 'route'), [ROUTE_HEADER, ...route, ''].join('\n'));
  if (ipv6Route) writeFileSync(join(root, 'net', 'ipv6_route'), [...ipv6Route, ''].join('\n'));
  return root;
}

describe('readLinuxNetwork', () => {
  it('reads online for an IPv4 default route', () => {
    assert.equal(readLinuxNetwork(proc([V4_DEFAULT, V4_SUBNET], [V6_LINK, V6_LOOPBACK])), 'online');
  });

  it('reads online for an IPv6 ::/0 route, even without IPv4', () => {
    assert.equal(readLinuxNetwork(proc([], [V6_LINK, V6_DEFAULT, V6_LOOPBACK])), 'online');
    assert.equal(readLinuxNetwork(proc(null, [V6_DEFAULT])), 'online');
  });

  it('reads offline when the only default routes are on lo', () => {
    assert.equal(readLinuxNetwork(proc([V4_LOOPBACK_DEFAULT], [V6_LO_UNREACHABLE, V6_LOOPBACK])), 'offline');
  });

  it('reads offline with routes but no default', () => {
    assert.equal(readLinuxNetwork(proc([V4_SUBNET], [V6_LINK])), 'offline');
    assert.equal(readLinuxNetwork(proc([], [])), 'offline');
  });

  it('reads offline for a default route that is not UP or is a reject route', () => {
    assert.equal(readLinuxNetwork(proc([V4_DEFAULT_DOWN, V4_UNREACHABLE_DEFAULT], [])), 'offline');
  });

  it('reads offline when one table is readable without a default and the other is missing', () => {
    assert.equal(readLinuxNetwork(proc([V4_SUBNET], null)), 'offline');
  });

  it('skips malformed lines', () => {
    assert.equal(readLinuxNetwork(proc(['garbage', 'eth0 00000000'], ['short line', `${ZERO} 00`])), 'offline');
  });

  it('reads unknown when neither file can be read', () => {
    assert.equal(readLinuxNetwork(proc(null, null)), 'unknown');
    assert.equal(readLinuxNetwork(join(base, 'no-such-proc')), 'unknown');
  });

  it('reads this machine as one of the three states', () => {
    assert.ok(['online', 'offline', 'unknown'].includes(readLinuxNetwork()));
  });
});
