// The certificates from cluster.json: what the plan derives (src/certificates.ts), what out/certs.sh makes with the
// real openssl (modes, key usage, SANs, a second run that changes nothing, --renew that re-issues only what expires),
// what each master is sent, and the warning about keys git would commit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseCluster } from '../src/load.js';
import { plan, type Plan } from '../src/plan.js';
import { memberTlsFiles } from '../src/certificates.js';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';
import { requireTools } from './support/tools.js';

const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };

function planOf(doc: object): Plan {
  const loaded = parseCluster(JSON.stringify(doc), 'cluster.json');
  if (!loaded.ok) throw new Error(`the test's cluster.json does not load: ${JSON.stringify(loaded.problems)}`);
  return plan(loaded.cluster, context);
}

const perMember = { ...minimalCluster(3), tls: { layout: 'per-member' } };

// ---------------------------------------------------------------------------------------------------------------
// The plan

test('the shared layout (the default) is the tutorial\'s one certificate, covering every master, server and client', () => {
  const p = planOf(minimalCluster(3));
  assert.is(p.certificates.layout, 'shared');
  assert.is(p.certificates.certificates.length, 1);
  const [shared] = p.certificates.certificates;
  assert.is(shared?.cert.fromConfig, 'kubernetes.pem');
  assert.is(shared?.key.fromConfig, 'kubernetes-key.pem');
  assert.is(shared?.extendedKeyUsage, 'serverAuth,clientAuth');
  assert.is(shared?.subjectAltName, 'DNS:master1.node.local.consul,IP:192.168.56.11,DNS:master2.node.local.consul,IP:192.168.56.12,DNS:master3.node.local.consul,IP:192.168.56.13');
  assert.is(p.certificates.ca.fromConfig, 'ca.pem');
  assert.is(p.certificates.caKey.fromConfig, 'ca-key.pem', 'the CA key is cfssl\'s name beside the CA');
  assert.equal(p.members[0]?.tlsFiles.map((f) => f.remote), ['/etc/etcd/kubernetes.pem', '/etc/etcd/kubernetes-key.pem', '/etc/etcd/ca.pem']);
});

test('per-member: a server and a peer certificate per master with kubeadm\'s SANs and usages, two client certificates, all in tls.dir', () => {
  const p = planOf(perMember);
  const c = p.certificates;
  assert.is(c.ca.fromConfig, 'pki/ca.pem');
  assert.is(c.caKey.fromConfig, 'pki/ca-key.pem');
  const byFile = new Map(c.certificates.map((s) => [s.cert.fromConfig, s]));
  assert.equal([...byFile.keys()], [
    'pki/master1-server.pem', 'pki/master1-peer.pem', 'pki/master2-server.pem', 'pki/master2-peer.pem',
    'pki/master3-server.pem', 'pki/master3-peer.pem', 'pki/apiserver-etcd-client.pem', 'pki/healthcheck-client.pem',
  ]);
  const server = byFile.get('pki/master2-server.pem');
  assert.is(server?.subjectAltName, 'DNS:master2.node.local.consul,IP:192.168.56.12,DNS:localhost,IP:127.0.0.1,IP:::1');
  assert.is(server?.extendedKeyUsage, 'serverAuth,clientAuth', 'etcd presents its server certificate as a client too (kubeadm\'s TODO on etcd issue 9785)');
  assert.is(server?.key.fromConfig, 'pki/master2-server-key.pem');
  const peer = byFile.get('pki/master2-peer.pem');
  assert.is(peer?.subjectAltName, 'DNS:master2.node.local.consul,IP:192.168.56.12');
  assert.is(peer?.extendedKeyUsage, 'serverAuth,clientAuth', 'a peer both serves and connects');
  for (const client of ['pki/apiserver-etcd-client.pem', 'pki/healthcheck-client.pem']) {
    assert.is(byFile.get(client)?.extendedKeyUsage, 'clientAuth', `${client} is a client only`);
    assert.is(byFile.get(client)?.subjectAltName, '', `${client} has no SANs: etcd checks a client certificate's SANs against the address it connects from`);
  }
  assert.is(byFile.get('pki/apiserver-etcd-client.pem')?.commonName, 'kube-apiserver-etcd-client');
  assert.equal(c.keyFiles.length, 9, 'the CA key and eight certificate keys');
});

test('per-member: each manifest names its own server and peer files; each master is sent only its own keys, the health-check client and the CA', () => {
  const p = planOf(perMember);
  for (const member of p.members) {
    const env = new Map(member.env.map((e) => [e.name, e.value]));
    assert.is(env.get('ETCD_CERT_FILE'), `/etc/etcd/${member.name}-server.pem`);
    assert.is(env.get('ETCD_KEY_FILE'), `/etc/etcd/${member.name}-server-key.pem`);
    assert.is(env.get('ETCD_PEER_CERT_FILE'), `/etc/etcd/${member.name}-peer.pem`);
    assert.is(env.get('ETCD_PEER_KEY_FILE'), `/etc/etcd/${member.name}-peer-key.pem`);
    assert.is(env.get('ETCD_TRUSTED_CA_FILE'), '/etc/etcd/ca.pem');
    const keys = member.tlsFiles.filter((f) => f.mode === '0600').map((f) => f.staged);
    assert.equal(keys, [`${member.name}-server-key.pem`, `${member.name}-peer-key.pem`, 'healthcheck-client-key.pem'], `${member.name} gets no other master's key, nor kube-apiserver's, nor the CA's`);
    assert.ok(member.tlsFiles.some((f) => f.remote === '/etc/etcd/ca.pem' && f.mode === '0644'));
  }
  const kubeadm = planOf({ ...perMember, etcd: { profile: 'kubeadm' } });
  const command = kubeadm.members[2]?.command ?? [];
  assert.ok(command.includes('--cert-file=/etc/etcd/master3-server.pem'), command.join(' '));
  assert.ok(command.includes('--peer-cert-file=/etc/etcd/master3-peer.pem'), command.join(' '));
  assert.ok(command.includes('--peer-key-file=/etc/etcd/master3-peer-key.pem'), command.join(' '));
  assert.is(kubeadm.tls.cert.remote, '/etc/etcd/healthcheck-client.pem', 'verify.sh on a master presents the health-check client');
});

test('a CA supplied by cluster.json is used where it lies, with its key beside it unless tls.caKey says', () => {
  const p = planOf({ ...minimalCluster(1), tls: { layout: 'per-member', ca: '../shared-pki/etcd-ca.pem' } });
  assert.is(p.certificates.ca.fromConfig, '../shared-pki/etcd-ca.pem');
  assert.is(p.certificates.caKey.fromConfig, '../shared-pki/etcd-ca-key.pem');
  const q = planOf({ ...minimalCluster(1), tls: { layout: 'per-member', ca: 'ca/ca.crt', caKey: 'vault/ca.key' } });
  assert.is(q.certificates.caKey.fromConfig, 'vault/ca.key');
  const files = memberTlsFiles(q.certificates, 'master1', '/etc/etcd');
  assert.ok(!files.some((f) => f.fromOut.includes('vault')), 'the CA key never travels');
});

test('out/kube-apiserver-etcd.yaml: the four --etcd-* flags and kubeadm\'s etcd.external, from cluster.json', () => {
  const dir = tempDir('apiserver');
  try {
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify({ ...perMember, etcd: { clientPort: 4001, certDir: '/etc/kubernetes/pki/etcd' } }));
    assert.is(runCli(['generate', '--config', config]).code, 0);
    const text = readFileSync(join(dir.path, 'out', 'kube-apiserver-etcd.yaml'), 'utf8');
    const servers = 'https://master1.node.local.consul:4001,https://master2.node.local.consul:4001,https://master3.node.local.consul:4001';
    const flags = [...text.matchAll(/^# {3}(--etcd-[a-z]+=\S+)$/gm)].map((m) => m[1]);
    assert.equal(flags, [
      `--etcd-servers=${servers}`,
      '--etcd-cafile=/etc/kubernetes/pki/etcd/ca.pem',
      '--etcd-certfile=/etc/kubernetes/pki/etcd/apiserver-etcd-client.pem',
      '--etcd-keyfile=/etc/kubernetes/pki/etcd/apiserver-etcd-client-key.pem',
    ]);
    const doc = parse(text) as { apiVersion: string; kind: string; etcd: { external: Record<string, unknown> } };
    assert.is(doc.apiVersion, 'kubeadm.k8s.io/v1beta4');
    assert.is(doc.kind, 'ClusterConfiguration');
    assert.equal(doc.etcd.external, {
      endpoints: servers.split(','),
      caFile: '/etc/kubernetes/pki/etcd/ca.pem',
      certFile: '/etc/kubernetes/pki/etcd/apiserver-etcd-client.pem',
      keyFile: '/etc/kubernetes/pki/etcd/apiserver-etcd-client-key.pem',
    });
    assert.match(text, /put pki\/ca\.pem,\n# pki\/apiserver-etcd-client\.pem and pki\/apiserver-etcd-client-key\.pem \(mode 0600/);
  } finally {
    dir.remove();
  }
  // The tutorial's: kube-apiserver uses the shared certificate where distribute.sh put it.
  const shared = planOf(minimalCluster(3)).apiserver;
  assert.equal(shared.flags.slice(1), ['--etcd-cafile=/etc/etcd/ca.pem', '--etcd-certfile=/etc/etcd/kubernetes.pem', '--etcd-keyfile=/etc/etcd/kubernetes-key.pem']);
});

// ---------------------------------------------------------------------------------------------------------------
// certs.sh, with the real openssl

interface Project {
  dir: string;
  remove: () => void;
  certs: (...args: string[]) => { code: number; stdout: string; stderr: string };
}

function project(doc: object): Project {
  const dir = tempDir('certs');
  writeFile(join(dir.path, 'cluster.json'), JSON.stringify(doc, null, 2));
  const gen = runCli(['generate', '--config', join(dir.path, 'cluster.json')]);
  assert.is(gen.code, 0, gen.err.join('\n'));
  return {
    dir: dir.path,
    remove: dir.remove,
    certs: (...args) => {
      const run = spawnSync('bash', [join(dir.path, 'out', 'certs.sh'), ...args], { cwd: '/', encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
      return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
    },
  };
}

/** Every file of a directory: name → mode, mtime and bytes, to prove that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir).sort().map((name) => {
      const stat = statSync(join(dir, name));
      return [name, `${(stat.mode & 0o777).toString(8)} ${stat.mtimeMs} ${readFileSync(join(dir, name), 'base64')}`];
    }),
  );
}

function x509(file: string, ...args: string[]): string {
  const run = spawnSync('openssl', ['x509', '-in', file, '-noout', ...args], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  return run.stdout;
}

/** A certificate's SANs as openssl's subjectAltName value takes them again (IP:…, DNS:…). */
function sansOf(cert: string): string {
  return x509(cert, '-ext', 'subjectAltName').split('\n')[1]?.trim().replace(/IP Address:/g, 'IP:').replace('0:0:0:0:0:0:0:1', '::1') ?? '';
}

function verify(ca: string, cert: string, purpose: string): boolean {
  return spawnSync('openssl', ['verify', '-purpose', purpose, '-CAfile', ca, cert], { encoding: 'utf8' }).status === 0;
}

const opensslPresent = (name: string) => requireTools(name, 'openssl', 'bash');

test('certs.sh makes the CA and every certificate, keys 0600, each with the usage its purpose needs; a second run changes nothing', () => {
  if (!opensslPresent('certs.sh makes everything')) return;
  const p = project(perMember);
  try {
    const first = p.certs();
    assert.is(first.code, 0, first.stderr + first.stdout);
    const pki = join(p.dir, 'pki');
    const files = readdirSync(pki).sort();
    assert.equal(files.filter((f) => f.endsWith('-key.pem')).length, 9);
    for (const file of files) {
      const mode = statSync(join(pki, file)).mode & 0o777;
      assert.is(mode, file.endsWith('-key.pem') ? 0o600 : 0o644, `${file} has mode ${mode.toString(8)}`);
    }
    const ca = join(pki, 'ca.pem');
    assert.match(x509(ca, '-ext', 'basicConstraints'), /CA:TRUE/);
    for (const m of ['master1', 'master2', 'master3']) {
      for (const role of ['server', 'peer']) {
        const cert = join(pki, `${m}-${role}.pem`);
        assert.ok(verify(ca, cert, 'sslserver') && verify(ca, cert, 'sslclient'), `${m}'s ${role} certificate serves and connects, signed by the CA`);
      }
      assert.match(x509(join(pki, `${m}-server.pem`), '-ext', 'subjectAltName'), new RegExp(`DNS:${m}\\.node\\.local\\.consul, IP Address:192\\.168\\.56\\.\\d+, DNS:localhost, IP Address:127\\.0\\.0\\.1, IP Address:0:0:0:0:0:0:0:1`));
      assert.not.match(x509(join(pki, `${m}-peer.pem`), '-ext', 'subjectAltName'), /127\.0\.0\.1/, 'a peer certificate names only its member');
    }
    for (const client of ['apiserver-etcd-client', 'healthcheck-client']) {
      const cert = join(pki, `${client}.pem`);
      assert.ok(verify(ca, cert, 'sslclient'), `${client} is a client`);
      assert.not.ok(verify(ca, cert, 'sslserver'), `${client} cannot serve`);
    }
    assert.match(x509(join(pki, 'apiserver-etcd-client.pem'), '-subject'), /CN ?= ?kube-apiserver-etcd-client/);
    // 365 days by default (kubeadm's), the CA 3650.
    const days = (file: string) => Math.round((Date.parse(x509(file, '-enddate').split('=')[1] ?? '') - Date.now()) / 86_400_000);
    assert.is(days(join(pki, 'master1-server.pem')), 365);
    assert.is(days(ca), 3650);

    const before = snapshot(pki);
    const second = p.certs();
    assert.is(second.code, 0, second.stderr);
    assert.equal(snapshot(pki), before, 'a second run changes no file, not even its time');
    assert.match(second.stdout, /kept as they are:\n {2}the CA/);
    assert.not.match(second.stdout, /^made:/m);
  } finally {
    p.remove();
  }
});

test('certs.sh --dry-run says what it would make and writes nothing; --help; a bad --within is a usage error', () => {
  if (!opensslPresent('certs.sh --dry-run')) return;
  const p = project(perMember);
  try {
    const dry = p.certs('--dry-run');
    assert.is(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would be made:\n {2}the CA \(\S+\/pki\/ca\.pem\)\n {2}master1's server certificate/);
    assert.not.ok(existsSync(join(p.dir, 'pki')), 'nothing written, not even the directory');
    const help = p.certs('--help');
    assert.is(help.code, 0);
    assert.match(help.stdout, /^Usage: certs\.sh \[--renew \[--within DAYS\]\] \[--dry-run\]/);
    assert.is(p.certs('--within', '3').code, 2, '--within needs --renew');
    assert.is(p.certs('--renew', '--within', 'soon').code, 2);
    assert.is(p.certs('--only', 'master1').code, 2, 'certs.sh has no hosts');
  } finally {
    p.remove();
  }
});

test('certs.sh --renew re-issues only the certificates that expire within DAYS, from the same CA and key, lists them, keeps the old one', () => {
  if (!opensslPresent('certs.sh --renew')) return;
  const p = project(perMember);
  try {
    assert.is(p.certs().code, 0);
    const pki = join(p.dir, 'pki');
    // master2's server certificate, re-signed by the same CA for the same key, valid one day: the one that is due.
    const cert = join(pki, 'master2-server.pem');
    const ext = writeFile(join(p.dir, 'short.cnf'), `[x]\nextendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = ${sansOf(cert)}\n`);
    const csr = join(p.dir, 'short.csr');
    assert.is(spawnSync('openssl', ['req', '-new', '-key', join(pki, 'master2-server-key.pem'), '-subj', '/CN=master2', '-out', csr]).status, 0);
    assert.is(spawnSync('openssl', ['x509', '-req', '-in', csr, '-CA', join(pki, 'ca.pem'), '-CAkey', join(pki, 'ca-key.pem'), '-set_serial', '7', '-days', '1', '-extfile', ext, '-extensions', 'x', '-out', cert]).status, 0);
    const pubkey = x509(cert, '-pubkey');
    const others = snapshot(pki);
    delete others['master2-server.pem'];

    const nothingDue = p.certs('--renew', '--within', '0');
    assert.is(nothingDue.code, 0, nothingDue.stderr);
    assert.not.match(nothingDue.stdout, /re-issued/, 'nothing expires within 0 days');

    const dry = p.certs('--renew', '--dry-run');
    assert.match(dry.stdout, /would be re-issued \(expiring within 30 days, or lacking a name\):\n {2}master2's server certificate \(\S+\)\nkept/);
    assert.is(x509(cert, '-serial').trim(), 'serial=07', 'the dry run re-issued nothing');

    const renew = p.certs('--renew');
    assert.is(renew.code, 0, renew.stderr);
    assert.match(renew.stdout, /^re-issued \(expiring within 30 days, or lacking a name\):\n {2}master2's server certificate \(\S+master2-server\.pem\)\n(?!  )/m, renew.stdout);
    assert.match(renew.stdout, /one master at a time/);
    assert.is(x509(cert, '-pubkey'), pubkey, 'the same key');
    assert.ok(verify(join(pki, 'ca.pem'), cert, 'sslserver'), 'signed by the same CA');
    assert.match(x509(cert, '-ext', 'subjectAltName'), /DNS:master2\.node\.local\.consul/);
    assert.ok(spawnSync('openssl', ['x509', '-in', cert, '-noout', '-checkend', String(300 * 86400)]).status === 0, 'valid for a year again');
    const after = snapshot(pki);
    const aside = Object.keys(after).filter((name) => name.startsWith('master2-server.pem.replaced-'));
    assert.is(aside.length, 1, `the old certificate is kept beside it: ${Object.keys(after).join(' ')}`);
    for (const [name, state] of Object.entries(others)) assert.is(after[name], state, `${name} is untouched`);
  } finally {
    p.remove();
  }
});

test("certs.sh reports a kept certificate that lacks a master's host or ip (a master joined since it was made); --renew re-issues it with them, for the same key", () => {
  if (!opensslPresent('certs.sh and a new master')) return;
  const doc = minimalCluster(3);
  const p = project(doc);
  try {
    assert.is(p.certs().code, 0);
    const cert = join(p.dir, 'kubernetes.pem');
    const pubkey = x509(cert, '-pubkey');
    // master4 joins: cluster.json names it, the shared certificate does not.
    const master4 = { name: 'master4', ip: '192.168.56.14', host: 'master4.node.local.consul', joinedWith: ['master1', 'master2', 'master3'] };
    writeFile(join(p.dir, 'cluster.json'), JSON.stringify({ ...doc, masters: [...doc.masters, master4] }, null, 2));
    const gen = runCli(['generate', '--config', join(p.dir, 'cluster.json')]);
    assert.is(gen.code, 0, gen.err.join('\n'));
    const kept = p.certs();
    assert.is(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /it lacks DNS:master4\.node\.local\.consul,IP:192\.168\.56\.14 among its subject alternative names/, kept.stdout);
    assert.match(kept.stdout, /note:\n {2}the certificate \(\S+kubernetes\.pem\) lacks DNS:master4\.node\.local\.consul,IP:192\.168\.56\.14 among its subject alternative names \(a master added since it was made\?\): etcd is refused there; run certs.sh --renew/, kept.stdout);
    assert.is(x509(cert, '-pubkey'), pubkey, 'kept as it is');
    const renewed = p.certs('--renew');
    assert.is(renewed.code, 0, renewed.stderr);
    assert.match(renewed.stdout, /re-issued with DNS:master4\.node\.local\.consul,IP:192\.168\.56\.14 among its names/, renewed.stdout);
    assert.match(x509(cert, '-checkhost', 'master4.node.local.consul'), /does match/, 'covers the new host');
    assert.match(x509(cert, '-checkip', '192.168.56.14'), /does match/, 'covers the new ip');
    assert.match(x509(cert, '-checkhost', 'master1.node.local.consul'), /does match/, 'and still the others');
    assert.is(x509(cert, '-pubkey'), pubkey, 'for the same key');
    const again = p.certs();
    assert.not.match(again.stdout, /lacks/, `nothing lacking any more:\n${again.stdout}`);
  } finally {
    p.remove();
  }
});

test('certs.sh uses a CA that exists (and never replaces it), and refuses to sign with a key that is not the CA\'s', () => {
  if (!opensslPresent('certs.sh with an existing CA')) return;
  const p = project({ ...minimalCluster(1), tls: { layout: 'per-member', ca: 'given/ca.pem' } });
  try {
    const given = join(p.dir, 'given');
    writeFile(join(given, '.keep'), '');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(given, 'ca-key.pem'), '-out', join(given, 'ca.pem'), '-days', '30', '-subj', '/CN=operator CA']);
    assert.is(made.status, 0);
    const ca = readFileSync(join(given, 'ca.pem'), 'utf8');
    const run = p.certs();
    assert.is(run.code, 0, run.stderr);
    assert.is(readFileSync(join(given, 'ca.pem'), 'utf8'), ca);
    assert.ok(verify(join(given, 'ca.pem'), join(p.dir, 'pki', 'master1-peer.pem'), 'sslclient'), 'signed by the given CA');

    // Another key where the CA's should be: nothing is signed.
    spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(given, 'ca-key.pem')]);
    writeFileSync(join(p.dir, 'pki', 'master1-peer.pem'), '');
    spawnSync('rm', [join(p.dir, 'pki', 'master1-peer.pem')]);
    const wrong = p.certs();
    assert.is(wrong.code, 1);
    assert.match(wrong.stderr, /ca-key\.pem is not the key of the CA in \S+ca\.pem/);
    assert.not.ok(existsSync(join(p.dir, 'pki', 'master1-peer.pem')));
  } finally {
    p.remove();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// preflight.sh knows what each certificate is for

interface Resign {
  /** extendedKeyUsage; the certificate's own purpose by default. */
  usage?: string;
  /** subjectAltName; none when "". */
  sans?: string;
  /** Another CA's certificate and key. */
  ca?: { cert: string; key: string };
  /** notBefore and notAfter, as openssl ca takes them (YYYYMMDDHHMMSSZ). */
  dates?: [string, string];
}

/** Replace pki/NAME.pem with a certificate for the same key, made as `how` says (openssl ca, as an operator would). */
function resign(dir: string, name: string, how: Resign): void {
  const pki = join(dir, 'pki');
  const work = join(dir, `resign-${name}`);
  writeFile(join(work, 'index'), '');
  writeFile(join(work, 'serial'), '1001\n');
  const ext = [`extendedKeyUsage = ${how.usage ?? 'serverAuth, clientAuth'}`, ...(how.sans ? [`subjectAltName = ${how.sans}`] : [])].join('\n');
  writeFile(join(work, 'ext.cnf'), `${ext}\n`);
  writeFile(join(work, 'ca.cnf'), `[ca]\ndefault_ca = x\n[x]\ndatabase = ${work}/index\nnew_certs_dir = ${work}\nserial = ${work}/serial\ndefault_md = sha256\npolicy = any\ndefault_days = 90\n[any]\ncommonName = supplied\n`);
  const csr = join(work, 'req.csr');
  assert.is(spawnSync('openssl', ['req', '-new', '-key', join(pki, `${name}-key.pem`), '-subj', `/CN=${name}`, '-out', csr]).status, 0);
  const ca = how.ca ?? { cert: join(pki, 'ca.pem'), key: join(pki, 'ca-key.pem') };
  const dates = how.dates ? ['-startdate', how.dates[0], '-enddate', how.dates[1]] : [];
  const made = spawnSync('openssl', ['ca', '-batch', '-notext', '-config', join(work, 'ca.cnf'), '-cert', ca.cert, '-keyfile', ca.key, '-in', csr, ...dates, '-extfile', join(work, 'ext.cnf'), '-out', join(pki, `${name}.pem`)], { encoding: 'utf8' });
  assert.is(made.status, 0, made.stderr);
}

function preflightLocal(dir: string): { code: number; stdout: string } {
  const run = spawnSync('bash', [join(dir, 'out', 'preflight.sh'), '--local'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  return { code: run.status ?? -1, stdout: run.stdout };
}

test('preflight.sh --local: every certificate certs.sh made passes, each checked for SANs, validity, CA, usage and key', () => {
  if (!opensslPresent('preflight.sh per member')) return;
  const p = project(perMember);
  try {
    assert.is(p.certs().code, 0);
    const run = preflightLocal(p.dir);
    assert.is(run.code, 0, run.stdout);
    for (const line of [
      "ok: master2's peer certificate covers 192.168.56.12",
      "ok: master2's peer certificate may be used by a TLS server (serverAuth)",
      "ok: master2's peer certificate may be used by a TLS client (clientAuth)",
      "ok: master3's server certificate covers 127.0.0.1",
      "ok: master3's server certificate covers ::1",
      "ok: master3's server certificate covers localhost",
      "ok: kube-apiserver's client certificate may be used by a TLS client (clientAuth)",
      "ok: the key matches the health-check client certificate",
    ]) assert.ok(run.stdout.includes(`  ${line}\n`), `${line}\n${run.stdout}`);
    assert.not.match(run.stdout, /kube-apiserver's client certificate may be used by a TLS server/, 'a client certificate is not checked for serving');
  } finally {
    p.remove();
  }
});

test('preflight.sh --local fails, naming the member and certificate, for each way a certificate can be wrong', () => {
  if (!opensslPresent('preflight.sh wrong certificates')) return;
  const p = project(perMember);
  try {
    assert.is(p.certs().code, 0);
    const pki = join(p.dir, 'pki');
    const other = join(p.dir, 'other-ca');
    writeFile(join(other, '.keep'), '');
    assert.is(spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(other, 'key.pem'), '-out', join(other, 'ca.pem'), '-days', '30', '-subj', '/CN=another CA']).status, 0);
    const sansOfMember = (name: string) => sansOf(join(pki, `${name}.pem`));

    // A server-only certificate as master2's peer certificate: the issue's cluster that never forms.
    resign(p.dir, 'master2-peer', { usage: 'serverAuth', sans: sansOfMember('master2-peer') });
    // master1's server certificate from another CA.
    resign(p.dir, 'master1-server', { sans: sansOfMember('master1-server'), ca: { cert: join(other, 'ca.pem'), key: join(other, 'key.pem') } });
    // master3's server certificate expired.
    resign(p.dir, 'master3-server', { sans: sansOfMember('master3-server'), dates: ['20200101000000Z', '20200102000000Z'] });
    // master1's peer certificate without master1's ip.
    resign(p.dir, 'master1-peer', { sans: 'DNS:master1.node.local.consul' });
    // kube-apiserver's client certificate made as a server certificate.
    resign(p.dir, 'apiserver-etcd-client', { usage: 'serverAuth' });

    const run = preflightLocal(p.dir);
    assert.is(run.code, 1, run.stdout);
    const fails = [...run.stdout.matchAll(/^ {2}FAIL: (.*)$/gm)].map((m) => m[1]);
    const expected = [
      /^master1's server certificate is not signed by the CA in ca\.pem: /,
      /^master1's peer certificate's SANs do not cover 192\.168\.56\.11$/,
      /^master2's peer certificate may not be used by a TLS client: its extended key usage lacks clientAuth, and etcd refuses it \("certificate specifies an incompatible key usage"\)$/,
      /^master3's server certificate expired on Jan {2}2 00:00:00 2020 GMT$/,
      /^kube-apiserver's client certificate may not be used by a TLS client: its extended key usage lacks clientAuth/,
    ];
    assert.is(fails.length, expected.length, `exactly these failures:\n${fails.join('\n')}`);
    expected.forEach((pattern, i) => assert.match(fails[i] ?? '', pattern, fails.join('\n')));
    assert.match(run.stdout, /lacks clientAuth[^\n]*\n {8}-> make it again with extendedKeyUsage clientAuth \(out\/certs\.sh makes each certificate with the usages it needs\)/);
    assert.ok(run.stdout.includes("  ok: master2's server certificate may be used by a TLS client (clientAuth)\n"), 'the other members pass');
  } finally {
    p.remove();
  }
});

test('preflight.sh --local in the shared layout: a server-only certificate fails (it passed every check before)', () => {
  if (!opensslPresent('preflight.sh shared server-only')) return;
  const p = project(minimalCluster(3));
  try {
    assert.is(p.certs().code, 0, 'certs.sh makes the tutorial\'s ca.pem and kubernetes.pem');
    assert.is(preflightLocal(p.dir).code, 0);
    const sans = sansOf(join(p.dir, 'kubernetes.pem'));
    // resign() works in pki/: the shared layout's files lie beside cluster.json.
    writeFile(join(p.dir, 'pki', '.keep'), '');
    for (const [from, to] of [['kubernetes-key.pem', 'pki/kubernetes-key.pem'], ['ca.pem', 'pki/ca.pem'], ['ca-key.pem', 'pki/ca-key.pem']]) writeFileSync(join(p.dir, to ?? ''), readFileSync(join(p.dir, from ?? '')));
    resign(p.dir, 'kubernetes', { usage: 'serverAuth', sans });
    writeFileSync(join(p.dir, 'kubernetes.pem'), readFileSync(join(p.dir, 'pki', 'kubernetes.pem')));
    const run = preflightLocal(p.dir);
    assert.is(run.code, 1, run.stdout);
    assert.match(run.stdout, /^ {2}FAIL: the certificate may not be used by a TLS client: its extended key usage lacks clientAuth/m);
  } finally {
    p.remove();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Who can reach etcd

function generated(doc: object): { said: string[]; readme: string } {
  const dir = tempDir('privilege');
  try {
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify(doc, null, 2));
    const run = runCli(['generate', '--config', config]);
    assert.is(run.code, 0, run.err.join('\n'));
    return { said: run.err, readme: readFileSync(join(dir.path, 'out', 'README.md'), 'utf8') };
  } finally {
    dir.remove();
  }
}

test('the plain-HTTP loopback listener: generate warns once, at its place in cluster.json, and out/README.md says what it exposes', () => {
  const on = generated({ ...minimalCluster(3), etcd: { localListener: { enabled: true } } });
  const warnings = on.said.filter((line) => /plain HTTP/.test(line));
  assert.is(warnings.length, 1, on.said.join('\n'));
  assert.match(warnings[0] ?? '', /cluster\.json:\d+:\d+ {2}\/etcd\/localListener\/enabled {2}warning: etcd serves http:\/\/127\.0\.0\.1:2379 in plain HTTP with no client certificate: any local user or hostNetwork pod on a master can read and write everything, \/registry\/secrets included\./);
  assert.match(on.readme, /\*\*The loopback listener `http:\/\/127\.0\.0\.1:2379` is plain HTTP, with no certificate and no password\.\*\* Every user on a master\s+and every pod with `hostNetwork: true` can read and write all of etcd through it, every Kubernetes Secret\s+included\./);

  for (const [what, doc] of [
    ['turned off', { ...minimalCluster(3), etcd: { localListener: { enabled: false } } }],
    ['the kubeadm profile (HTTPS on loopback)', { ...perMember, etcd: { profile: 'kubeadm' } }],
  ] as const) {
    const quiet = generated(doc);
    assert.not.ok(quiet.said.some((line) => /plain HTTP/.test(line)), `${what}: no warning\n${quiet.said.join('\n')}`);
    assert.not.match(quiet.readme, /is plain HTTP, with no certificate/, what);
  }
  assert.match(generated({ ...perMember, etcd: { profile: 'kubeadm' } }).readme, /\*\*The loopback listener\*\* \(kubeadm's\) is HTTPS on the client port and asks for a client certificate/);
});

test('localListener.tls makes the tutorial profile\'s loopback listener HTTPS: the certificate must cover it, verify.sh uses TLS, no warning', () => {
  const p = planOf({ ...minimalCluster(3), etcd: { localListener: { enabled: true, tls: true } } });
  const env = new Map(p.members[0]?.env.map((e) => [e.name, e.value]));
  assert.is(env.get('ETCD_LISTEN_CLIENT_URLS'), 'https://192.168.56.11:2379,https://127.0.0.1:2379');
  assert.is(p.etcd.localClientUrl, '', 'no plain-HTTP listener');
  assert.ok(p.subjectAltNames.includes('127.0.0.1'), 'preflight.sh wants the shared certificate to cover 127.0.0.1');
  assert.match(p.certificates.certificates[0]?.subjectAltName ?? '', /IP:127\.0\.0\.1$/, 'and certs.sh makes it so');
  assert.equal(p.verify.memberListTls, ['yes'], 'member list over TLS only');
  const out = generated({ ...minimalCluster(3), etcd: { localListener: { enabled: true, tls: true } } });
  assert.not.ok(out.said.some((line) => /plain HTTP/.test(line)), out.said.join('\n'));
  assert.match(out.readme, /\*\*The loopback listener `https:\/\/127\.0\.0\.1:2379`\*\* is HTTPS and asks for a client certificate/);
  // The default stays the tutorial's, byte for byte.
  const tutorial = planOf(minimalCluster(3));
  assert.is(new Map(tutorial.members[0]?.env.map((e) => [e.name, e.value])).get('ETCD_LISTEN_CLIENT_URLS'), 'https://192.168.56.11:2379,http://127.0.0.1:2379');
});

test('out/README.md says which client certificates etcd accepts and why, and lists each certificate with its use, usage and SANs', () => {
  const shared = generated(minimalCluster(3)).readme;
  assert.match(shared, /It accepts \*\*any\s+certificate its CA \(`ca\.pem`\) signed\*\*, with full read and write access to everything/);
  assert.match(shared, /every certificate it signed \(a kubelet's `system:node:…` certificate, an admin's\) is a full etcd\s+client\. Give etcd a CA of its own/);
  const own = generated(perMember).readme;
  assert.match(own, /here it is etcd's own, and it signed only each member's server and peer certificates, kube-apiserver's client\s+certificate and the health-check client certificate/);
  assert.match(own, /^\| master2's peer certificate \| `pki\/master2-peer\.pem` \| master2's etcd serves the other members with it, and presents it to them \| serverAuth,clientAuth \| DNS:master2\.node\.local\.consul,IP:192\.168\.56\.12 \|$/m);
  assert.match(own, /^\| kube-apiserver's client certificate \| `pki\/apiserver-etcd-client\.pem` \| [^|]+ \| clientAuth \| none: /m);
  assert.match(own, /a member's peer certificate works only from that member's own ip/);
  assert.match(own, /### Renewing certificates\n\n1\. `out\/certs\.sh --renew`[\s\S]*one master at a time[\s\S]*`out\/distribute\.sh --only MASTER`[\s\S]*`out\/verify\.sh` before the next master/);
});

// ---------------------------------------------------------------------------------------------------------------
// Keys and git

test('generate warns, once, about private keys inside a git repository that git does not ignore; not once they are ignored, nor without git', () => {
  if (!requireTools('keys and git', 'git')) return;
  const dir = tempDir('keys-git');
  try {
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify(perMember));
    assert.is(spawnSync('git', ['init', '-q', dir.path]).status, 0);
    const warned = runCli(['generate', '--config', config]);
    assert.is(warned.code, 0, warned.err.join('\n'));
    const lines = warned.err.filter((l) => /git does not ignore/.test(l));
    assert.is(lines.length, 1, warned.err.join('\n'));
    assert.match(lines[0] ?? '', /the private keys \S*pki\/ca-key\.pem, \S*pki\/master1-server-key\.pem, .*pki\/healthcheck-client-key\.pem \(tls in .*cluster\.json\), inside the repository: one `git add \.` would commit them\. Add them, or pki\/, to \.gitignore\./);

    writeFile(join(dir.path, '.gitignore'), 'pki/\n');
    const quiet = runCli(['generate', '--config', config]);
    assert.not.ok(quiet.err.some((l) => /git does not ignore/.test(l)), quiet.err.join('\n'));

    writeFile(join(dir.path, '.gitignore'), '');
    const noGit = spawnSync(process.execPath, [join(process.cwd(), 'dist', 'src', 'cli.js'), 'generate', '--config', config], { encoding: 'utf8', env: { PATH: '/nonexistent' } });
    assert.is(noGit.status, 0, noGit.stderr);
    assert.not.match(noGit.stderr, /git does not ignore/, 'no git, nothing said');
  } finally {
    dir.remove();
  }
});

test('this project ignores pki/ and every *-key.pem', () => {
  if (!requireTools('the project\'s .gitignore', 'git')) return;
  const run = spawnSync('git', ['check-ignore', '--no-index', 'pki/ca.pem', 'kubernetes-key.pem', 'ca-key.pem', 'examples/x/pki/a-key.pem'], { encoding: 'utf8' });
  assert.equal(run.stdout.trim().split('\n'), ['pki/ca.pem', 'kubernetes-key.pem', 'ca-key.pem', 'examples/x/pki/a-key.pem']);
});

test.run();
