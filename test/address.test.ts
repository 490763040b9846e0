// address.ts: IP addresses parsed by hand. Checked against Node's own parser (net.isIP) and the WHATWG URL
// serialiser, which are what they replace, on thousands of random addresses and near-addresses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { isIP } from 'node:net';
import { canonicalIp, ipVersion, isLoopback, memberAddressProblem, parseIp } from '../src/address.js';

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31);

test('ipVersion answers what net.isIP answers (without zone ids), on addresses and near-addresses', () => {
  const nearAddress = fc.stringMatching(/^[0-9a-fA-F:.]{0,45}$/);
  const mutated = fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.nat(), fc.constantFrom('', ':', '.', '0', '::', 'g', '00')).map(([a, i, insert]) => {
    const at = i % (a.length + 1);
    return a.slice(0, at) + insert + a.slice(at);
  });
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), nearAddress, mutated), (text) => {
      assert.is(ipVersion(text), isIP(text) as 0 | 4 | 6, JSON.stringify(text));
    }),
    { seed, numRuns: 20_000 },
  );
  for (const text of ['', '::', '::1', '1::', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:8::', ':1::', '1:::2', '::ffff:1.2.3.4', '1.2.3.04', '1.2.3.256', '01.2.3.4', '::1.2.3.4:5']) {
    assert.is(ipVersion(text), isIP(text) as 0 | 4 | 6, JSON.stringify(text));
  }
});

test('canonicalIp: RFC 5952 text for IPv6 (as the WHATWG URL serialiser writes it), the IPv4 for a mapped address', () => {
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      const bytes = parseIp(text)?.bytes ?? [];
      const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
      const expected = mapped ? bytes.slice(12).join('.') : new URL(`http://[${text}]/`).hostname.slice(1, -1);
      assert.is(canonicalIp(text), expected, text);
    }),
    { seed, numRuns: 5_000 },
  );
  assert.is(canonicalIp('::ffff:192.168.56.11'), '192.168.56.11');
  assert.is(canonicalIp('::ffff:c0a8:380b'), '192.168.56.11');
  assert.is(canonicalIp('0:0:0:0:0:ffff:c0a8:380b'), '192.168.56.11');
  assert.is(canonicalIp('fd00:0:0:1:0:0:0:1'), 'fd00:0:0:1::1', 'the longer run of zeros is the one compressed');
  assert.is(canonicalIp('fd00:0:0:1:0:0:1:1'), 'fd00::1:0:0:1:1', 'of two equal runs, the first');
  assert.is(canonicalIp('master1.example'), 'master1.example', 'a name is left alone');
});

test('memberAddressProblem: a member address is a unicast address of a host', () => {
  for (const ok of ['192.168.56.11', '10.0.0.1', '127.0.0.11', '169.254.1.1', '223.255.255.254', 'fd00::11', '2001:db8::1', '::1']) {
    assert.is(memberAddressProblem(ok), undefined, ok);
  }
  for (const bad of ['0.0.0.0', '0.0.0.1', '255.255.255.255', '224.0.0.1', '239.1.1.1', '240.0.0.1', '::', 'ff02::1', 'fe80::1', 'febf::1', '::ffff:10.0.0.1', '::10.0.0.1']) {
    assert.type(memberAddressProblem(bad), 'string', bad);
  }
  assert.ok(isLoopback('127.1.2.3') && isLoopback('::1') && !isLoopback('::2') && !isLoopback('10.0.0.1'));
});

test.run();
