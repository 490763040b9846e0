// plan.ts: every derived value, computed once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commentText, initialCluster, jumpHostParts, memberListTries, mermaidLabel, plan, proxyCommand, proxyCommandWord, SSH_IDENTITY_VARIABLE, url, urlHost } from '../src/plan.js';
import { loadCluster, minimalCluster } from './support/fixtures.js';

const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };

const load = loadCluster;

test('IPv6 hosts are bracketed in URLs, names and IPv4 are not', () => {
  assert.is(urlHost('fd00::1'), '[fd00::1]');
  assert.is(urlHost('10.0.0.1'), '10.0.0.1');
  assert.is(urlHost('master1.local'), 'master1.local');
  assert.is(url('https', '::1', 2379), 'https://[::1]:2379');
});

test("the initial cluster is the tutorial's MASTER_LIST", () => {
  const p = plan(load(minimalCluster(3)), context);
  assert.is(
    p.initialCluster,
    'master1=https://master1.node.local.consul:2380,master2=https://master2.node.local.consul:2380,master3=https://master3.node.local.consul:2380',
  );
  assert.is(initialCluster([{ name: 'a', peerUrl: 'https://[fd00::1]:2380' }]), 'a=https://[fd00::1]:2380');
});

test('each member listens on its ip and advertises its host', () => {
  const p = plan(load(minimalCluster(3)), context);
  const m = p.members[1]!;
  assert.is(m.peerUrl, 'https://master2.node.local.consul:2380');
  assert.is(m.clientUrl, 'https://master2.node.local.consul:2379');
  assert.is(m.listenPeerUrl, 'https://192.168.56.12:2380');
  assert.is(m.listenClientUrls, 'https://192.168.56.12:2379,http://127.0.0.1:2379');
  assert.is(m.probeHost, '127.0.0.1');
  assert.is(m.probePort, '2379');
  assert.is(m.manifestFile, 'master2-etcd.manifest');
  const env = Object.fromEntries(m.env.map((e) => [e.name, e.value]));
  assert.is(env['ETCD_NAME'], 'master2');
  assert.is(env['ETCD_INITIAL_CLUSTER'], p.initialCluster);
  assert.is(env['ETCD_KEY_FILE'], '/etc/etcd/kubernetes-key.pem');
});

test('every env value and port is a string (Handlebars adds adjacent numbers)', () => {
  const p = plan(load(minimalCluster(3)), context);
  for (const m of p.members) for (const e of m.env) assert.type(e.value, 'string', e.name);
  assert.type(p.etcd.clientPort, 'string');
  assert.type(p.members[0]!.probePort, 'string');
});

test('without the loopback listener, the probe and member list use the TLS listener', () => {
  const p = plan(load({ ...minimalCluster(3), etcd: { localListener: { enabled: false } } }), context);
  const m = p.members[0]!;
  assert.is(m.listenClientUrls, 'https://192.168.56.11:2379');
  assert.is(m.probeHost, '192.168.56.11');
  assert.equal(p.verify.memberListEndpoints, [p.verify.allClientUrls]);
  assert.equal(p.verify.memberListTls, ['yes']);
});

test("verify.sh's member list: the tutorial's loopback listener first, then every member over TLS, so that a master whose etcd is down does not hide the others", () => {
  const all = 'https://master1.node.local.consul:2379,https://master2.node.local.consul:2379,https://master3.node.local.consul:2379';
  const tutorial = plan(load(minimalCluster(3)), context);
  assert.is(tutorial.verify.allClientUrls, all);
  assert.equal(tutorial.verify.memberListEndpoints, ['http://127.0.0.1:2379', all]);
  assert.equal(tutorial.verify.memberListTls, ['no', 'yes']);
  // The fallback is exactly what the HTTPS loopback listener (or none) asks first: the same report when the master's own etcd is down.
  for (const localListener of [{ enabled: true, tls: true }, { enabled: false }]) {
    const tls = plan(load({ ...minimalCluster(3), etcd: { localListener } }), context);
    assert.equal(tls.verify.memberListEndpoints, [all], JSON.stringify(localListener));
    assert.equal(tls.verify.memberListTls, ['yes'], JSON.stringify(localListener));
    assert.is(tutorial.verify.memberListEndpoints[1], tls.verify.memberListEndpoints[0]);
    assert.is(tutorial.verify.memberListTls[1], tls.verify.memberListTls[0]);
  }
  // IPv6 and another port: the listener's own URL first.
  const six = plan(load({ masters: [{ name: 'a', ip: 'fd00::11', host: 'fd00::11' }], etcd: { localListener: { address: '::1', port: 12379 } } }), context);
  assert.equal(six.verify.memberListEndpoints, ['http://[::1]:12379', 'https://[fd00::11]:2379']);
  assert.equal(memberListTries('', 'https://a:2379'), { memberListEndpoints: ['https://a:2379'], memberListTls: ['yes'] });
});

test('an IPv6 cluster brackets every URL and listens on [::1] locally', () => {
  const p = plan(
    load({
      masters: [{ name: 'a', ip: 'fd00::11', host: 'fd00::11' }],
      etcd: { localListener: { address: '::1', port: 12379 } },
    }),
    context,
  );
  const m = p.members[0]!;
  assert.is(m.peerUrl, 'https://[fd00::11]:2380');
  assert.is(m.listenClientUrls, 'https://[fd00::11]:2379,http://[::1]:12379');
  assert.is(m.probeHost, '::1');
  assert.is(m.probePort, '12379');
});

test('certificate files: relative to cluster.json as seen from out/, landing in the cert dir', () => {
  const p = plan(load({ ...minimalCluster(1), tls: { ca: 'pki/ca.pem', cert: '/abs/etcd.pem', key: 'pki/etcd-key.pem' } }), context);
  assert.equal(p.tls.ca, { fromOut: '../pki/ca.pem', staged: 'ca.pem', remote: '/etc/etcd/ca.pem', mode: '0644' });
  assert.is(p.tls.cert.fromOut, '/abs/etcd.pem');
  assert.is(p.tls.key.mode, '0600');
  assert.is(p.manifest.remote, '/etc/kubernetes/manifests/etcd.manifest');
  assert.is(p.manifest.swap, '/etc/kubernetes/.etcd.manifest.etcd-bootstrap');
});

test("the certificate must cover every master's host and ip, each checked the right way, each once", () => {
  const p = plan(load({ masters: [{ name: 'a', ip: '10.0.0.1', host: 'a.example' }, { name: 'b', ip: 'fd00::2', host: 'fd00::2' }] }), context);
  assert.equal(p.subjectAltNames, ['a.example', '10.0.0.1', 'fd00::2']);
  assert.equal(p.subjectAltNameChecks, ['-checkhost', '-checkip', '-checkip']);
});

test('nodes are the masters then the workers', () => {
  const p = plan(load({ ...minimalCluster(2), workers: [{ name: 'worker1' }] }), context);
  assert.equal(p.nodeNames, ['master1', 'master2', 'worker1']);
});

test('a config path with a line break cannot leave the header comment', () => {
  assert.is(commentText('x\ntouch CANARY\n#'), 'x\\ntouch CANARY\\n#');
  assert.is(commentText('a --> b'), 'a --\\u003e b');
  const p = plan(load(minimalCluster(1)), { ...context, configName: 'evil\ntouch /tmp/CANARY\n#/cluster.json' });
  assert.not.match(p.generatedBy, /\n/);
});

test('the ssh transport: BatchMode, user, port, options, identity relative to out/; a jump host through a ProxyCommand', () => {
  const p = plan(
    load({
      masters: [{ name: 'm1', ip: '10.0.0.1', host: 'm1.example', address: '192.0.2.1' }, { name: 'm2', ip: '10.0.0.2', host: 'm2.example' }],
      workers: [{ name: 'w1' }],
      transport: { kind: 'ssh', user: 'admin', port: 2222, jumpHost: 'jump@bastion:2200', identityFile: 'keys/id_ed25519', options: ['StrictHostKeyChecking=accept-new'] },
    }),
    context,
  );
  assert.equal(p.ssh?.args, [
    '-o', 'BatchMode=yes', '-l', 'admin', '-p', '2222', '-o', 'StrictHostKeyChecking=accept-new',
    '-o', `ProxyCommand=ssh -o BatchMode=yes -l jump -p 2200 -o StrictHostKeyChecking=accept-new -i "$${SSH_IDENTITY_VARIABLE}" -W '[%h]:%p' -- bastion`,
  ]);
  assert.not.ok(p.ssh?.args.includes('-J'), 'no -J: ssh would apply none of the options to the hop');
  assert.is(p.ssh?.identityFromOut, '../keys/id_ed25519');
  assert.is(p.ssh?.identityVariable, SSH_IDENTITY_VARIABLE);
  assert.equal(p.nodes.map((n) => n.address), ['192.0.2.1', 'm2.example', 'w1']);
  assert.is(p.transportPartial, 'transport/ssh');
});

test("a jump host's user and port are its own; without them ssh's defaults, without an identity no -i", () => {
  const p = plan(load({ ...minimalCluster(1), transport: { kind: 'ssh', user: 'admin', port: 2222, jumpHost: 'bastion.example.com' } }), context);
  assert.equal(p.ssh?.args, ['-o', 'BatchMode=yes', '-l', 'admin', '-p', '2222', '-o', "ProxyCommand=ssh -o BatchMode=yes -W '[%h]:%p' -- bastion.example.com"]);
  assert.equal(jumpHostParts('ops@[fd00::1]:2222'), { user: 'ops', host: 'fd00::1', port: '2222' });
  assert.equal(jumpHostParts('bastion'), { user: '', host: 'bastion', port: '' });
});

test("a ProxyCommand word survives the shell and ssh's % tokens: quoted when not plain, every % doubled", () => {
  assert.is(proxyCommandWord('BatchMode=yes'), 'BatchMode=yes');
  assert.is(proxyCommandWord('UserKnownHostsFile=~/.ssh/known_hosts'), "'UserKnownHostsFile=~/.ssh/known_hosts'");
  assert.is(proxyCommandWord("it's"), "'it'\\''s'");
  assert.is(proxyCommandWord('ControlPath=/tmp/%r@%h'), "'ControlPath=/tmp/%%r@%%h'");
});

test('the ProxyCommand, expanded as ssh does and run by sh, gives the hop ssh exactly the intended words', () => {
  const options = ['UserKnownHostsFile=~/.ssh/known hosts', 'ControlPath=/tmp/%r@%h', "IdentityAgent=it's"];
  const command = proxyCommand('jump@[fd00::1]:2200', options, true);
  // ssh's own expansion of %h, %p and %%, then `$SHELL -c "exec COMMAND"`, with an `ssh` that prints its words.
  const expanded = command.replace(/%([hp%])/g, (_, token: string) => ({ h: 'fd00::2', p: '22', '%': '%' })[token] ?? '');
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bootstrap-proxy-'));
  try {
    writeFileSync(join(dir, 'ssh'), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    const result = spawnSync('sh', ['-c', `exec ${expanded}`], {
      encoding: 'utf8',
      env: { PATH: `${dir}:/usr/bin:/bin`, HOME: '/nonexistent', [SSH_IDENTITY_VARIABLE]: '/keys/my key%h' },
    });
    assert.is(result.status, 0, result.stderr);
    assert.equal(result.stdout.split('\n').slice(0, -1), [
      '-o', 'BatchMode=yes', '-l', 'jump', '-p', '2200',
      '-o', 'UserKnownHostsFile=~/.ssh/known hosts', '-o', 'ControlPath=/tmp/%r@%h', '-o', "IdentityAgent=it's",
      '-i', '/keys/my key%h', '-W', '[fd00::2]:22', '--', 'fd00::1',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the vagrant transport reaches every node by its name', () => {
  const p = plan(load({ masters: [{ name: 'm1', ip: '10.0.0.1', host: 'm1.example', address: '192.0.2.1' }] }), context);
  assert.equal(p.nodes.map((n) => n.address), ['m1']);
  assert.is(p.ssh, undefined);
});

test('time sync: the tutorial ntp by default; systemd-timesyncd is switched on explicitly', () => {
  const pick = ({ service, enable, maxSkewSeconds }: { service: string; enable: string; maxSkewSeconds: string }) => ({ service, enable, maxSkewSeconds });
  assert.equal(pick(plan(load(minimalCluster(1)), context).timeSync), { service: 'ntp', enable: '', maxSkewSeconds: '1' });
  const timesyncd = plan(load({ ...minimalCluster(1), timeSync: { service: 'systemd-timesyncd', maxSkewSeconds: 0.5 } }), context).timeSync;
  assert.equal(pick(timesyncd), { service: 'systemd-timesyncd', enable: 'timedatectl set-ntp true', maxSkewSeconds: '0.5' });
  assert.is(timesyncd.families.find((f) => f.managers === 'apt-get')?.install.at(-1), 'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y systemd-timesyncd');
});

test('a skewed clock\'s advice names what to look at for the chosen service (its time sources and status, UDP 123), never "run ntp.sh" again', () => {
  const sources = { ntp: '`ntpq -p`', chrony: '`chronyc sources`', 'systemd-timesyncd': '`timedatectl timesync-status`' } as const;
  for (const [service, command] of Object.entries(sources) as [keyof typeof sources, string][]) {
    const advice = plan(load({ ...minimalCluster(1), timeSync: { service } }), context).timeSync.skewAdvice;
    assert.ok(advice.includes(command) && advice.includes(`\`systemctl status ${service}\``), `${service}: ${advice}`);
    assert.ok(advice.includes('UDP port 123'), `${service}: the port a firewall may block: ${advice}`);
    assert.not.ok(/ntp\.sh/.test(advice), `${service}: not "run ntp.sh": ${advice}`);
  }
});

test('mermaid labels cannot end their quotes early', () => {
  assert.is(mermaidLabel(['a"b', 'c']), 'a#quot;b<br/>c');
});

test.run();
