// preflight.sh's port check matches etcd's bind: a listener on the client, peer or metrics port is a conflict only
// where the master's etcd binds that port (its listen URLs: its ip, the loopback listener, kubeadm's metrics
// listener) or on a wildcard that covers it. A listener on another of the master's addresses is a warning; one on
// an address that is not the master's (another node's, on a machine several nodes share) is none of its business.
//
// The plan computes, per master and port, the listeners (as ss prints their local address) that would keep etcd
// from binding; the cases below run the generated preflight.sh against the ss stand-in (test/support/transport.ts,
// whose output test/sshd.test.ts compares with the real ss, and this suite with the real ss's address forms).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { bindConflicts, memberListenUrls, plan, portBinds } from '../src/plan.js';
import { loadCluster, minimalCluster } from './support/fixtures.js';
import { parseOutput } from './support/output.js';
import { makeCertificates, runScript, withWorld, type World } from './support/transport.js';

const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };
const words = (text: string) => text.split(' ');

// ---------------------------------------------------------------------------------------------------------------
// The plan: where each master's etcd binds, and what would clash there

test('bindConflicts: the address itself, its IPv4-mapped form, the wildcards of its family, and * (an IPv6 wildcard that takes IPv4 too)', () => {
  assert.equal(bindConflicts('192.168.56.11', '2379'), ['192.168.56.11:2379', '[::ffff:192.168.56.11]:2379', '0.0.0.0:2379', '[::ffff:0.0.0.0]:2379', '*:2379']);
  // [::] (IPV6_V6ONLY) does not keep an IPv4 bind from working, and 0.0.0.0 no IPv6 bind: each is its family's.
  assert.equal(bindConflicts('fd00::11', '2380'), ['[fd00::11]:2380', '[::]:2380', '*:2380']);
  assert.equal(bindConflicts('::1', '2381'), ['[::1]:2381', '[::]:2381', '*:2381']);
  assert.equal(bindConflicts('any', '2379'), ['any:2379']);
});

test('the tutorial profile: the client port on the ip and 127.0.0.1 (the loopback listener), the peer port on the ip alone', () => {
  const m = plan(loadCluster(minimalCluster(2)), context).members[1]!;
  assert.equal(memberListenUrls(m), ['https://192.168.56.12:2380', 'https://192.168.56.12:2379', 'http://127.0.0.1:2379']);
  assert.equal(m.portBinds.map((b) => [b.key, b.addresses]), [['master2:2379', '192.168.56.12 and 127.0.0.1'], ['master2:2380', '192.168.56.12']]);
  assert.equal(words(m.portBinds[0]!.conflicts), [...bindConflicts('192.168.56.12', '2379'), '127.0.0.1:2379', '[::ffff:127.0.0.1]:2379']);
  assert.equal(words(m.portBinds[1]!.conflicts), bindConflicts('192.168.56.12', '2380'));
  // Another node's address on the same port is no conflict: on one machine, master1 never clashes with 127.0.0.12.
  assert.not.ok(words(m.portBinds[0]!.conflicts).includes('192.168.56.11:2379'));
});

test('with the loopback listener off, or on its own port, 127.0.0.1 is no conflict on the client port', () => {
  const off = plan(loadCluster({ ...minimalCluster(1), etcd: { localListener: { enabled: false } } }), context).members[0]!;
  assert.equal(off.portBinds[0]!.addresses, '192.168.56.11');
  assert.not.ok(off.portBinds[0]!.conflicts.includes('127.0.0.1'));
  const own = plan(loadCluster({ ...minimalCluster(1), etcd: { localListener: { port: 12379 } } }), context).members[0]!;
  assert.not.ok(own.portBinds[0]!.conflicts.includes('127.0.0.1'));
});

test('the kubeadm profile: its HTTPS loopback client listener, and the metrics port on the metrics listener alone', () => {
  const m = plan(loadCluster({ ...minimalCluster(1), etcd: { profile: 'kubeadm' } }), context).members[0]!;
  assert.equal(m.portBinds.map((b) => [b.port, b.addresses]), [['2379', '127.0.0.1 and 192.168.56.11'], ['2380', '192.168.56.11'], ['2381', '127.0.0.1']]);
  assert.equal(words(m.portBinds[2]!.conflicts), bindConflicts('127.0.0.1', '2381'));
});

test('an IPv6 master: [ip] and [::1] as ss prints them, with [::] and *; an IPv4 wildcard is no conflict', () => {
  const m = plan(loadCluster({ masters: [{ name: 'a', ip: 'fd00:0:0:0::11', host: 'a.example' }], etcd: { profile: 'kubeadm', metricsListener: { address: '::1' } } }), context).members[0]!;
  assert.equal(m.portBinds.map((b) => b.addresses), ['::1 and fd00::11', 'fd00::11', '::1']);
  assert.equal(words(m.portBinds[0]!.conflicts), ['[::1]:2379', '[::]:2379', '*:2379', '[fd00::11]:2379']);
  assert.not.ok(m.portBinds.some((b) => b.conflicts.includes('0.0.0.0')));
});

test('listen URLs replaced by extraArgs are the ones that count; a wildcard or a name of etcd\'s own clashes with anything on the port', () => {
  const wide = plan(loadCluster({ ...minimalCluster(1), etcd: { profile: 'kubeadm', extraArgs: { 'listen-client-urls': 'https://0.0.0.0:2379' } } }), context).members[0]!;
  assert.equal([wide.portBinds[0]!.addresses, wide.portBinds[0]!.conflicts], ['every address', 'any:2379']);
  const tutorial = plan(loadCluster({ ...minimalCluster(1), etcd: { extraArgs: { 'listen-peer-urls': 'https://[::]:2380,unix://x:1' } } }), context).members[0]!;
  assert.equal(tutorial.portBinds[1]!.conflicts, 'any:2380');
  assert.equal(portBinds('m', ['https://10.0.0.1:2379', 'https://[::ffff:10.0.0.2]:2379', 'http://localhost:2379'], ['2379', '2380']).map((b) => b.addresses), [
    '10.0.0.1, 10.0.0.2 and 127.0.0.1',
    'no address (no listen URL has this port)',
  ]);
  assert.is(portBinds('m', ['https://db.example:2379'], ['2379'])[0]!.conflicts, 'any:2379');
});

// ---------------------------------------------------------------------------------------------------------------
// The script: one test of each case, through the ss stand-in

const certTest = (name: string, body: (world: World) => void) => withWorld(name, body, { tools: ['openssl'] });

/** preflight.sh --only master1 with master1's listeners (ss -Htlnp lines, as root sees them) and extra addresses. */
function master1(world: World, listeners: string[], addresses: string[] = []) {
  makeCertificates(world);
  writeFileSync(world.state('master1', 'listening'), listeners.map((l) => `${l}\n`).join(''));
  if (addresses.length) writeFileSync(world.state('master1', 'addresses'), ['192.168.56.11', ...addresses].map((a) => `${a}\n`).join(''));
  const run = runScript(world, 'preflight.sh', {}, ['--only', 'master1']);
  const lines = parseOutput(run.stdout).blocks.find((b) => b.host === 'master1')?.lines ?? [];
  return { run, lines, text: lines.join('\n') };
}

const socat = (address: string) => `LISTEN 0 5 ${address} 0.0.0.0:* users:(("socat",pid=900,fd=5))`;

certTest("a listener on the master's own ip fails the port", (world) => {
  const { run, text } = master1(world, [socat('192.168.56.11:2380')]);
  assert.is(run.status, 1, run.shown);
  assert.match(text, /\n {2}FAIL: port 2380 is in use: LISTEN 0 5 192\.168\.56\.11:2380 0\.0\.0\.0:\* users:\(\("socat",pid=900,fd=5\)\)\n {8}-> stop what listens there, or choose another port in cluster\.json \(etcd\.clientPort, etcd\.peerPort\): etcd binds port 2380 on 192\.168\.56\.11$/m, run.shown);
  assert.match(text, /^ {2}ok: port 2379 is free$/m, run.shown);
});

certTest('a listener on a wildcard fails the port: 0.0.0.0, * (IPv6 taking IPv4 too), and the IPv4-mapped forms', (world) => {
  const { run, text } = master1(world, [socat('0.0.0.0:2379'), socat('*:2380'), socat('[::ffff:0.0.0.0]:2380'), socat('[::ffff:192.168.56.11]:2380')]);
  assert.is(run.status, 1, run.shown);
  assert.match(text, /FAIL: port 2379 is in use: LISTEN 0 5 0\.0\.0\.0:2379 /, run.shown);
  assert.match(text, /FAIL: port 2380 is in use: LISTEN 0 5 \*:2380 [^\n]*; LISTEN 0 5 \[::ffff:0\.0\.0\.0\]:2380 [^\n]*; LISTEN 0 5 \[::ffff:192\.168\.56\.11\]:2380 /, run.shown);
});

certTest('a listener on 127.0.0.1 fails the client port, where the loopback listener binds; an interface-bound one too', (world) => {
  const { run, text } = master1(world, [socat('127.0.0.1%lo:2379')]);
  assert.is(run.status, 1, run.shown);
  assert.match(text, /FAIL: port 2379 is in use: LISTEN 0 5 127\.0\.0\.1%lo:2379 [^\n]*\n {8}-> [^\n]*etcd binds port 2379 on 192\.168\.56\.11 and 127\.0\.0\.1$/m, run.shown);
});

certTest("a listener on another node's address sharing the machine (127.0.0.12) is no failure", (world) => {
  const { run, text } = master1(world, [socat('127.0.0.12:2379'), 'LISTEN 0 4096 127.0.0.12:2380 0.0.0.0:* users:(("etcd",pid=812,fd=7))']);
  assert.is(run.status, 0, run.shown);
  assert.match(text, /^ {2}ok: port 2379 is free on 192\.168\.56\.11 and 127\.0\.0\.1, where etcd binds it \(127\.0\.0\.12:2379: not this master's address\)$/m, run.shown);
  assert.match(text, /^ {2}ok: port 2380 is free on 192\.168\.56\.11, where etcd binds it$/m, run.shown);
  assert.not.ok(/FAIL|WARN/.test(text), run.shown);
});

certTest("a listener on another of the master's addresses, or on the other family's wildcard, is a warning: printed, exit 0", (world) => {
  const { run, text } = master1(world, [socat('10.0.0.5:2379'), `LISTEN 0 511 [::]:2380 [::]:* users:(("nginx",pid=700,fd=6))`], ['10.0.0.5']);
  assert.is(run.status, 0, run.shown);
  assert.match(text, /^ {2}ok: port 2379 is free on 192\.168\.56\.11 and 127\.0\.0\.1, where etcd binds it\n {2}WARN: port 2379 is in use on another of this master's addresses: LISTEN 0 5 10\.0\.0\.5:2379 0\.0\.0\.0:\* users:\(\("socat",pid=900,fd=5\)\)\n {8}-> not where etcd binds it \(192\.168\.56\.11 and 127\.0\.0\.1\), so etcd starts/m, run.shown);
  assert.match(text, /^ {2}WARN: port 2380 is in use on another of this master's addresses: LISTEN 0 511 \[::\]:2380 /m, run.shown);
  assert.not.ok(text.includes('FAIL'), run.shown);
});

certTest("etcd's own listener is fine: it is etcd's own port", (world) => {
  const { run, text } = master1(world, [
    'LISTEN 0 4096 192.168.56.11:2379 0.0.0.0:* users:(("etcd",pid=812,fd=7))',
    'LISTEN 0 4096 127.0.0.1:2379 0.0.0.0:* users:(("etcd",pid=812,fd=8))',
    'LISTEN 0 4096 192.168.56.11:2380 0.0.0.0:* users:(("etcd",pid=812,fd=6)) ',
  ]);
  assert.is(run.status, 0, run.shown);
  assert.match(text, /^ {2}ok: port 2379 is etcd's own: etcd already runs here$/m, run.shown);
  assert.match(text, /^ {2}ok: port 2380 is etcd's own: etcd already runs here$/m, run.shown);
});

withWorld('an IPv6 master: [::] and [its ip] fail the port, 0.0.0.0 (the other family) is a warning', (world) => {
  writeFileSync(world.state('master1', 'listening'), [socat('[::]:2379'), socat('[fd00::11]:2380'), socat('0.0.0.0:2380'), ''].join('\n'));
  writeFileSync(world.state('master1', 'addresses'), 'fd00::11\n');
  const run = runScript(world, 'preflight.sh', {}, ['--only', 'master1']);
  const text = (parseOutput(run.stdout).blocks.find((b) => b.host === 'master1')?.lines ?? []).join('\n');
  assert.match(text, /FAIL: port 2379 is in use: LISTEN 0 5 \[::\]:2379 /, run.shown);
  assert.match(text, /FAIL: port 2380 is in use: LISTEN 0 5 \[fd00::11\]:2380 [^\n]*\n {8}-> [^\n]*etcd binds port 2380 on fd00::11$/m, run.shown);
  assert.match(text, /WARN: port 2380 is in use on another of this master's addresses: LISTEN 0 5 0\.0\.0\.0:2380 /, run.shown);
}, { edit: (cluster) => (cluster.masters[0]!.ip = 'fd00::11') });

// ---------------------------------------------------------------------------------------------------------------
// The real ss prints a listener's local address in exactly the forms the plan lists (run in a network namespace of
// its own, where the addresses are free; skipped without unshare's rights).

test("the real ss prints 0.0.0.0, *, [::], [::1], [::ffff:a.b.c.d], [fd00::11] and 127.0.0.1%lo as the plan's conflicts spell them", () => {
  const script = String.raw`
ip link set lo up && ip addr add fd00::11/64 dev lo nodad
python3 - <<'PY' &
import socket, time
def l(fam, addr, port, v6only=None, dev=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    if dev: s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind((addr, port)); s.listen(); socks.append(s)
socks = []
l(socket.AF_INET, '0.0.0.0', 2001); l(socket.AF_INET6, '::', 2002, v6only=0); l(socket.AF_INET6, '::', 2003, v6only=1)
l(socket.AF_INET6, '::1', 2004); l(socket.AF_INET6, '::ffff:127.0.0.1', 2005); l(socket.AF_INET6, 'fd00:0:0:0::11', 2006)
l(socket.AF_INET, '127.0.0.1', 2007, dev='lo'); l(socket.AF_INET6, '::ffff:0.0.0.0', 2008, v6only=0)
time.sleep(20)
PY
for _ in $(seq 100); do [[ $(ss -Htln | wc -l) -ge 8 ]] && break; sleep 0.1; done
ss -Htln | awk '{ print $4 }' | sort
kill %1
`;
  const run = spawnSync('unshare', ['--net', '--', 'bash', '-c', script], { encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0 && /Operation not permitted|command not found/.test(run.stderr)) {
    console.error(`\n!!!! SKIPPED the real ss's address forms: ${run.stderr.trim()} !!!!\n`);
    return;
  }
  const printed = run.stdout.trim().split('\n').sort();
  const wanted = ['0.0.0.0:2001', '*:2002', '[::]:2003', '[::1]:2004', '[::ffff:127.0.0.1]:2005', '[fd00::11]:2006', '127.0.0.1%lo:2007', '[::ffff:0.0.0.0]:2008'];
  assert.equal(printed, [...wanted].sort(), `${run.stdout}${run.stderr}`);
  // Each is among the conflicts the plan lists for the address it stands for (the %lo dropped, as preflight.sh does).
  const all = [...bindConflicts('127.0.0.1', '2001'), ...bindConflicts('127.0.0.1', '2002'), ...bindConflicts('fd00::11', '2003'), ...bindConflicts('::1', '2004'),
    ...bindConflicts('127.0.0.1', '2005'), ...bindConflicts('fd00::11', '2006'), ...bindConflicts('127.0.0.1', '2007'), ...bindConflicts('127.0.0.1', '2008')];
  for (const address of wanted) assert.ok(all.includes(address.replace(/%[^:]*:/, ':')), `${address} is a conflict the plan can list`);
});

test.run();
