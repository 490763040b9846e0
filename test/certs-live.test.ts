// Live: a 3-member etcd cluster on the per-member certificates that out/certs.sh makes, least privilege proven on
// every port. The members run the kubeadm profile's manifests (its HTTPS loopback listener), etcd 3.4.23 (Debian's
// /usr/bin/etcd), each as a user of its own in a private network namespace where its connections leave from its
// own ip (support/member-network.ts), as on its own machine: etcd checks a peer's address against its certificate.
//
// What each master gets is what distribute.sh would send it (the plan's list for that master); only the copying is
// done here, into one certificate directory the three members share on this machine, each key owned by its member.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../src/cli.js';
import { loadClusterFile } from '../src/load.js';
import { plan, type Plan } from '../src/plan.js';
import { needing, requireTools } from './support/tools.js';
import {
  allLogs,
  baseEnv,
  check,
  explain,
  httpGet,
  indent,
  LiveFailure,
  mapToMachine,
  memberLoopback,
  parseMemberList,
  prepareCluster,
  readKubeadmManifest,
  removeCluster,
  run,
  runningCount,
  sleep,
  startMember,
  stopAll,
  stopMember,
  waitHealthy,
  type LiveCluster,
  type LiveMember,
  type RunResult,
} from './support/live-cluster.js';
import { memberNetwork, stopMemberNetwork, type MemberNetwork } from './support/member-network.js';

interface World {
  dir: string;
  cluster: LiveCluster;
  network: MemberNetwork;
  plan: Plan;
  pki: string;
  certDir: string;
}

const TOOLS = ['etcd', 'etcdctl', 'openssl', 'curl', 'unshare', 'nsenter', 'setpriv', 'ip', 'bash'];
const live = needing(suite<{ world?: World; skip?: boolean }>('per-member certificates from certs.sh, live on etcd 3.4'), TOOLS);
const MASTERS = [1, 2, 3].map((n) => ({ name: `master${n}`, ip: `127.0.0.1${n}`, host: `127.0.0.1${n}` }));

function must(result: RunResult, what: string): RunResult {
  if (result.code !== 0) throw new LiveFailure(`${what} failed: ${explain(result)}`);
  return result;
}

/** The plan's list for each master, copied as distribute.sh installs it: certificates 0644, keys 0600 owned by the member. */
function distribute(world: World, network: MemberNetwork, only?: string): void {
  world.plan.members.forEach((member, index) => {
    if (only && member.name !== only) return;
    for (const file of member.tlsFiles) {
      copyFileSync(resolve(world.cluster.outDir, file.fromOut), file.remote);
      chmodSync(file.remote, Number.parseInt(file.mode, 8));
      // The health-check client's key is on every master (verify.sh uses it there); here one copy serves all, root's.
      const own = file.mode === '0600' && file.staged.startsWith(`${member.name}-`);
      chownSync(file.remote, own ? network.uid(index) : 0, own ? network.uid(index) : 0);
    }
  });
}

async function prepare(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bootstrap-live-certs-'));
  // The members' users must reach their data and certificate directories through it.
  chmodSync(dir, 0o755);
  const certDir = join(dir, 'etc-etcd');
  mkdirSync(certDir, { mode: 0o755 });
  const config = {
    masters: MASTERS,
    etcd: {
      profile: 'kubeadm',
      image: 'registry.k8s.io/etcd:3.4.23-0',
      clusterToken: 'etcd-bootstrap-live-certs',
      certDir,
      // Nothing else listens in the members' own network namespace: etcd's own ports.
      metricsListener: { address: '127.0.0.1', port: 2381 },
    },
    tls: { layout: 'per-member', dir: 'pki' },
  };
  const configPath = join(dir, 'cluster.json');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const outDir = join(dir, 'out');
  const said: string[] = [];
  const code = main(['generate', '--config', configPath], { out: () => {}, err: (line) => said.push(line) });
  check(code === 0, () => `generate exited ${code}:\n${indent(said.join('\n'), 2)}`);
  const loaded = loadClusterFile(configPath);
  if (!loaded.ok) throw new LiveFailure(`cluster.json does not load: ${JSON.stringify(loaded.problems)}`);
  const thePlan = plan(loaded.cluster, { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' });

  must(await run('bash', [join(outDir, 'certs.sh')], { env: baseEnv(), cwd: dir, timeoutMs: 60_000 }), 'out/certs.sh');
  const pki = join(dir, 'pki');
  // master2's server certificate, re-signed for its own key by the same CA to expire tomorrow: the one --renew is for.
  const server2 = thePlan.certificates.certificates.find((c) => c.member === 'master2' && c.role === 'server');
  if (!server2) throw new LiveFailure("the plan has no server certificate for master2");
  writeFileSync(join(dir, 'short.cnf'), `[x]\nextendedKeyUsage = ${server2.extendedKeyUsage}\nsubjectAltName = ${server2.subjectAltName}\n`);
  must(await run('openssl', ['req', '-new', '-key', join(pki, 'master2-server-key.pem'), '-subj', '/CN=master2', '-out', join(dir, 'short.csr')]), 'a CSR');
  must(await run('openssl', ['x509', '-req', '-in', join(dir, 'short.csr'), '-CA', join(pki, 'ca.pem'), '-CAkey', join(pki, 'ca-key.pem'), '-set_serial', '77', '-days', '1', '-extfile', join(dir, 'short.cnf'), '-extensions', 'x', '-out', join(pki, 'master2-server.pem')]), 'a short-lived certificate');

  const network = await memberNetwork(MASTERS.map((m) => m.ip));
  mkdirSync(join(dir, 'data'), { mode: 0o755 });
  const members = MASTERS.map((master, index): LiveMember => {
    const manifest = join(outDir, `${master.name}-etcd.manifest`);
    const dataDir = join(dir, 'data', master.name);
    mkdirSync(dataDir, { mode: 0o700 });
    chmodSync(dataDir, 0o700);
    chownSync(dataDir, network.uid(index), network.uid(index));
    const view = readKubeadmManifest(manifest, certDir);
    const argv = view.argv.map((arg) => mapToMachine(arg, { loopback: memberLoopback(index), dataDir: { manifest: '/var/lib/etcd', here: dataDir } }));
    return {
      ...master,
      manifest,
      manifestEnv: view.env,
      argv,
      httpProbes: [],
      probe: { host: memberLoopback(index), port: 2381 },
      env: { ...baseEnv(), ...view.env },
      dataDir,
      clientUrl: `https://${master.host}:2379`,
      peerUrl: `https://${master.host}:2380`,
      enter: network.enterAs(index),
      pids: [],
      log: [],
    };
  });
  const cluster: LiveCluster = {
    label: 'the per-member cluster',
    dir,
    configPath,
    outDir,
    // etcdctl as the health checks run it: the health-check client certificate, from 127.0.0.1.
    certs: { dir: certDir, ca: join(pki, 'ca.pem'), cert: join(pki, 'healthcheck-client.pem'), key: join(pki, 'healthcheck-client-key.pem') },
    clientPort: 2379,
    peerPort: 2380,
    image: config.etcd.image,
    members,
    endpoints: members.map((m) => m.clientUrl).join(','),
    enter: network.enter,
  };
  const world: World = { dir, cluster, network, plan: thePlan, pki, certDir };
  distribute(world, network);
  return world;
}

/** etcdctl inside the members' network, as root (from 127.0.0.1), with the given client certificate. */
function ctl(world: World, tls: { cert: string; key: string } | undefined, args: readonly string[], endpoints = world.cluster.endpoints): Promise<RunResult> {
  const cert = tls ? [`--cert=${tls.cert}`, `--key=${tls.key}`] : [];
  return run(world.network.enter[0] ?? 'nsenter', [...world.network.enter.slice(1), 'etcdctl', `--endpoints=${endpoints}`, `--cacert=${world.cluster.certs.ca}`, ...cert, '--dial-timeout=2s', '--command-timeout=4s', ...args], {
    env: baseEnv({ ETCDCTL_API: '3' }),
    timeoutMs: 15_000,
  });
}

/** curl inside the members' network: as root, or as member `as`'s user (its connections leave from its ip). */
function curl(world: World, as: number | undefined, args: readonly string[]): Promise<RunResult> {
  const words = [...(as === undefined ? world.network.enter : world.network.enterAs(as)), 'curl', '--silent', '--show-error', '--http1.1', '--max-time', '5', ...args];
  return run(words[0] ?? 'nsenter', words.slice(1), { env: baseEnv(), timeoutMs: 15_000 });
}

const logOf = (member: LiveMember | undefined) => member?.log.join('\n') ?? '';

live.before(async (context) => {
  if (!requireTools('per-member certificates, live', ...TOOLS)) {
    context.skip = true;
    return;
  }
  context.world = await prepare();
  for (const member of context.world.cluster.members) startMember(member);
});

live.after(async (context) => {
  await stopAll(context.world?.cluster);
  await stopMemberNetwork(context.world?.network);
  if (context.world && !process.env['ETCD_BOOTSTRAP_KEEP_LIVE']) rmSync(context.world.dir, { recursive: true, force: true });
  assert.is(runningCount(), 0, 'every etcd and namespace holder this suite started is stopped');
});

live('forms and is healthy, each member on its own server and peer certificate, no connection refused', async ({ world, skip }) => {
  if (skip || !world) return;
  await waitHealthy(world.cluster, 30_000);
  const list = must(await ctl(world, { cert: world.cluster.certs.cert, key: world.cluster.certs.key }, ['member', 'list']), 'member list');
  assert.equal(parseMemberList(list.stdout).map((m) => `${m.name} ${m.status}`).sort(), ['master1 started', 'master2 started', 'master3 started']);
  for (const member of world.cluster.members) {
    // A handshake cut short (EOF, a reset: etcdctl giving up on a member still starting) is logged as a rejection too;
    // what must not be there is a certificate refused.
    const refused = logOf(member).split('\n').filter((line) => /rejected connection .*(x509|certificate|authority)/.test(line));
    assert.equal(refused, [], `${member.name} refused no peer's certificate: each connects from the ip its peer certificate names\n${allLogs(world.cluster)}`);
    const env = member.argv.join(' ');
    assert.ok(env.includes(`--peer-cert-file=${world.certDir}/${member.name}-peer.pem`), env);
  }
});

live('out/verify.sh --local, with its defaults (the health-check client certificate), finds every member healthy', async ({ world, skip }) => {
  if (skip || !world) return;
  const words = [...world.network.enter, 'bash', join(world.cluster.outDir, 'verify.sh'), '--local'];
  const result = await run(words[0] ?? 'nsenter', words.slice(1), { env: baseEnv(), cwd: world.dir, timeoutMs: 60_000 });
  assert.is(result.code, 0, explain(result));
  for (const member of MASTERS) assert.match(result.stdout, new RegExp(member.name), explain(result));
});

live("kube-apiserver's client certificate reads and writes", async ({ world, skip }) => {
  if (skip || !world) return;
  const apiserver = { cert: join(world.pki, 'apiserver-etcd-client.pem'), key: join(world.pki, 'apiserver-etcd-client-key.pem') };
  must(await ctl(world, apiserver, ['put', '/registry/test', 'written by kube-apiserver']), 'a write with the apiserver client certificate');
  const read = must(await ctl(world, apiserver, ['get', '/registry/test', '--print-value-only']), 'a read');
  assert.is(read.stdout.trim(), 'written by kube-apiserver');
});

live('a certificate from another CA is refused on the client port and on the peer port', async ({ world, skip }) => {
  if (skip || !world) return;
  const other = join(world.dir, 'other-ca');
  mkdirSync(other, { mode: 0o755 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  must(await run('openssl', ['req', '-x509', ...ec, '-keyout', join(other, 'ca-key.pem'), '-out', join(other, 'ca.pem'), '-days', '2', '-subj', '/CN=another CA']), 'another CA');
  writeFileSync(join(other, 'ext.cnf'), '[x]\nextendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = IP:127.0.0.1\n');
  must(await run('openssl', ['req', '-new', ...ec, '-keyout', join(other, 'key.pem'), '-out', join(other, 'req.csr'), '-subj', '/CN=system:node:worker1']), 'its CSR');
  must(await run('openssl', ['x509', '-req', '-in', join(other, 'req.csr'), '-CA', join(other, 'ca.pem'), '-CAkey', join(other, 'ca-key.pem'), '-set_serial', '5', '-days', '2', '-extfile', join(other, 'ext.cnf'), '-extensions', 'x', '-out', join(other, 'cert.pem')]), 'its certificate');
  const stranger = { cert: join(other, 'cert.pem'), key: join(other, 'key.pem') };

  const write = await ctl(world, stranger, ['put', '/registry/clusterrolebindings/evil', 'x'], world.cluster.members[0]?.clientUrl);
  assert.is.not(write.code, 0, `the client port refused the other CA's certificate:\n${explain(write)}`);
  const peer = await curl(world, undefined, ['--cacert', world.cluster.certs.ca, '--cert', stranger.cert, '--key', stranger.key, 'https://127.0.0.13:2380/members']);
  assert.is.not(peer.code, 0, `the peer port refused it:\n${explain(peer)}`);
  assert.match(logOf(world.cluster.members[2]), /rejected connection from "127\.0\.0\.1:\d+" \(error "[^"]*(unknown authority|bad certificate)/, 'master3 says why');
  const stored = await ctl(world, { cert: world.cluster.certs.cert, key: world.cluster.certs.key }, ['get', '/registry/clusterrolebindings/evil', '--print-value-only']);
  assert.is(stored.stdout.trim(), '', 'nothing was written');
});

live("master1's peer certificate presented from master2's address is refused; from master1's own it is accepted", async ({ world, skip }) => {
  if (skip || !world) return;
  // master2 holding master1's peer key (a copy it can read): etcd checks the address it connects from against the SANs.
  const stolen = join(world.dir, 'stolen');
  mkdirSync(stolen, { mode: 0o755 });
  for (const name of ['master1-peer.pem', 'master1-peer-key.pem']) {
    copyFileSync(join(world.pki, name), join(stolen, name));
    chownSync(join(stolen, name), world.network.uid(1), world.network.uid(1));
  }
  const asPeer = (as: number, dir: string) =>
    curl(world, as, ['--cacert', join(world.certDir, 'ca.pem'), '--cert', join(dir, 'master1-peer.pem'), '--key', join(dir, 'master1-peer-key.pem'), 'https://127.0.0.13:2380/members']);
  const fromMaster2 = await asPeer(1, stolen);
  assert.is.not(fromMaster2.code, 0, `refused from 127.0.0.12:\n${explain(fromMaster2)}`);
  assert.match(logOf(world.cluster.members[2]), /rejected connection from "127\.0\.0\.12:\d+" \(error "x509: certificate is valid for 127\.0\.0\.11, not 127\.0\.0\.12"/, logOf(world.cluster.members[2]).slice(-2000));
  const fromMaster1 = await asPeer(0, world.certDir);
  assert.is(fromMaster1.code, 0, `accepted from master1's own address:\n${explain(fromMaster1)}`);
  assert.match(fromMaster1.stdout, /"name":"master1"/);
});

live('the HTTPS loopback listener refuses a client without a certificate on 127.0.0.1, and answers one with the health-check certificate', async ({ world, skip }) => {
  if (skip || !world) return;
  // Each member's 127.0.0.1 is its own loopback address here (memberLoopback); the URL still says 127.0.0.1.
  const to = `127.0.0.1:2379:${memberLoopback(0)}:2379`;
  const bare = await curl(world, undefined, ['--connect-to', to, '--cacert', world.cluster.certs.ca, 'https://127.0.0.1:2379/v3/kv/range', '-X', 'POST', '-d', '{"key":"L3JlZ2lzdHJ5"}']);
  assert.is.not(bare.code, 0, `no certificate, no answer:\n${explain(bare)}`);
  assert.not.match(bare.stdout, /kvs|header/, 'nothing of the keyspace came back');
  const health = await curl(world, undefined, ['--connect-to', to, '--cacert', world.cluster.certs.ca, '--cert', world.cluster.certs.cert, '--key', world.cluster.certs.key, 'https://127.0.0.1:2379/health']);
  assert.is(health.code, 0, explain(health));
  assert.match(health.stdout, /"health":"true"/);
});

live('certs.sh --renew re-issues only master2\'s server certificate; rolled out to master2 alone, the cluster takes every write throughout', async ({ world, skip }) => {
  if (skip || !world) return;
  const renew = must(await run('bash', [join(world.cluster.outDir, 'certs.sh'), '--renew'], { env: baseEnv(), cwd: world.dir, timeoutMs: 60_000 }), 'certs.sh --renew');
  assert.match(renew.stdout, /^re-issued \(expiring within 30 days, or lacking a name\):\n {2}master2's server certificate \(\S+\)\n(?! {2})/m, renew.stdout);
  const serial = (await run('openssl', ['x509', '-in', join(world.pki, 'master2-server.pem'), '-noout', '-serial'])).stdout.trim();
  assert.is.not(serial, 'serial=4D', 'a new certificate');

  // Writes all along, to every member's endpoint (etcdctl picks one that answers).
  const hc = { cert: world.cluster.certs.cert, key: world.cluster.certs.key };
  const failures: string[] = [];
  let writes = 0;
  let rolling = true;
  const writer = (async () => {
    while (rolling) {
      const put = await ctl(world, hc, ['put', 'rollout', String(writes)]);
      writes++;
      if (put.code !== 0) failures.push(explain(put));
      await sleep(100);
    }
  })();
  try {
    await sleep(500);
    // One master at a time: what distribute.sh --only master2 copies, then that member restarts (kubelet would).
    const master2 = world.cluster.members[1] as LiveMember;
    distribute(world, world.network, 'master2');
    await stopMember(master2);
    startMember(master2);
    await waitHealthy(world.cluster, 30_000);
    await sleep(500);
  } finally {
    rolling = false;
    await writer;
  }
  assert.ok(writes >= 5, `writes went on during the rollout (${writes})`);
  assert.equal(failures, [], `every write succeeded while master2 restarted (${writes} writes)`);
  // master2 now serves the renewed certificate.
  const served = await run('bash', ['-c', `${world.network.enter.join(' ')} openssl s_client -connect 127.0.0.12:2379 -CAfile "$1" -cert "$2" -key "$3" </dev/null 2>/dev/null | openssl x509 -noout -serial`, 'served', world.cluster.certs.ca, hc.cert, hc.key], { env: baseEnv(), timeoutMs: 15_000 });
  assert.is(served.stdout.trim(), serial, `master2 serves the renewed certificate: ${explain(served)}`);
  check(readFileSync(join(world.certDir, 'master2-server.pem'), 'utf8') === readFileSync(join(world.pki, 'master2-server.pem'), 'utf8'), 'the renewed certificate is in master2\'s place');
});

live.run();

// The tutorial profile with its loopback listener made HTTPS (localListener.tls): one member, on this machine's own
// 127.0.0.1 (support/live-cluster.ts lets a cluster of one have the loopback listener).
const tutorial = needing(suite<{ cluster?: LiveCluster; skip?: boolean }>('the tutorial profile with an HTTPS loopback listener, live on etcd 3.4'), ['etcd', 'etcdctl', 'openssl']);

tutorial.before(async (context) => {
  if (!requireTools('the HTTPS loopback listener, live', 'etcd', 'etcdctl', 'openssl')) {
    context.skip = true;
    return;
  }
  context.cluster = await prepareCluster({
    label: 'the HTTPS loopback cluster',
    slug: 'https-loopback',
    masters: [{ name: 'master1', ip: '127.0.0.1', host: '127.0.0.1' }],
    localListener: '127.0.0.1',
    localListenerTls: true,
  });
  for (const member of context.cluster.members) startMember(member);
});

tutorial.after(async (context) => {
  await stopAll(context.cluster);
  removeCluster(context.cluster);
});

tutorial('its manifest listens on https://127.0.0.1; a client without a certificate is refused there, one with the client certificate answered', async ({ cluster, skip }) => {
  if (skip || !cluster) return;
  await waitHealthy(cluster, 30_000);
  const member = cluster.members[0] as LiveMember;
  assert.match(member.manifestEnv['ETCD_LISTEN_CLIENT_URLS'] ?? '', /,https:\/\/127\.0\.0\.1:\d+$/, 'the loopback listener is HTTPS');
  check((cluster.localUrl ?? '').startsWith('https://127.0.0.1:'), `the loopback URL: ${cluster.localUrl ?? '(none)'}`);
  const bare = await httpGet(`${cluster.localUrl ?? ''}/health`, { ca: cluster.certs.ca });
  assert.ok(bare.error !== undefined || bare.status === undefined, `no certificate, no answer: ${JSON.stringify(bare)}`);
  const plain = await httpGet(`${(cluster.localUrl ?? '').replace('https:', 'http:')}/health`);
  assert.ok(plain.status === undefined || plain.status >= 400, `plain HTTP gets nothing either: ${JSON.stringify(plain)}`);
  const good = await httpGet(`${cluster.localUrl ?? ''}/health`, cluster.certs);
  assert.is(good.status, 200, JSON.stringify(good));
  assert.match(good.body ?? '', /"health":"true"/);
});

tutorial.run();
