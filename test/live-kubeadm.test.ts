// Live: the kubeadm profile's manifests start real 3-member etcd clusters on etcd 3.4 and 3.5, exactly as kubelet
// would start them, and every probe in them answers at its exact URL.
//
// Each member runs the container's command and args as argv and its env as the environment (support/live-cluster.ts):
// only the data directory moves to a temporary one and 127.0.0.1 to a loopback address of the member's own, since
// three members share this machine. etcd exits on a flag it does not know, so a member that starts proves every flag
// the manifest passes for that version.
//
// etcd 3.4 is this machine's /usr/bin/etcd (Debian bookworm's etcd-server 3.4.23). etcd 3.5 is Debian's own newer
// package, fetched by scripts/fetch-etcd35.sh into ~/.cache/etcd-bootstrap without touching the machine's apt set-up
// (.ci/run runs it). Without it the 3.5 suite is skipped with a loud notice, and fails under CI=true.
import { suite } from 'uvu';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ETCD_35, ETCD_35_BIN, needing, requireTools } from './support/tools.js';
import {
  allLogs,
  baseEnv,
  check,
  crashed,
  etcdctl,
  explain,
  httpGet,
  indent,
  leader,
  LiveFailure,
  memberLog,
  parseMemberList,
  prepareCluster,
  removeCluster,
  run,
  runningCount,
  sleep,
  startMember,
  stopAll,
  stopMember,
  verify,
  waitHealthy,
  writeStandIns,
  type LiveCluster,
  type MasterSpec,
} from './support/live-cluster.js';

interface State {
  cluster?: LiveCluster;
  healthy?: boolean;
  startFailure?: string;
}

/** `etcd --version`'s version, or undefined when that etcd does not run. */
function etcdVersionOf(etcd: string): string | undefined {
  const result = spawnSync(etcd, ['--version'], { encoding: 'utf8' });
  return /^etcd Version: (\d+\.\d+\.\d+)$/m.exec(`${result.stdout ?? ''}`)?.[1];
}

interface Etcd {
  /** The directory of etcd and etcdctl. */
  bin: string;
  version: string;
}

/** This machine's etcd 3.4 (PATH's), or why there is none. */
function etcd34(): Etcd | string {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (!found) return 'etcd is not on PATH (apt-get install etcd-server etcd-client)';
  const version = etcdVersionOf(found);
  if (!version?.startsWith('3.4.')) return `${found} is etcd ${version ?? '(unknown)'}, not 3.4`;
  return { bin: dirname(found), version };
}

function etcd35(): Etcd | string {
  const etcd = join(ETCD_35_BIN, 'etcd');
  if (!existsSync(etcd) || !existsSync(join(ETCD_35_BIN, 'etcdctl'))) return `${etcd} is missing (run scripts/fetch-etcd35.sh)`;
  const version = etcdVersionOf(etcd);
  if (!version?.startsWith('3.5.')) return `${etcd} is etcd ${version ?? '(unknown)'}, not 3.5`;
  return { bin: ETCD_35_BIN, version };
}

/** The etcd to run, or undefined after a loud notice (a failure under CI=true). */
function requireEtcd(label: string, found: Etcd | string): Etcd | undefined {
  if (typeof found !== 'string') return found;
  const message = `${label}: ${found}`;
  if (process.env['CI'] === 'true') throw new LiveFailure(`${message}; CI must have it`);
  console.error(`\n!!!! SKIPPED ${message} !!!!\n`);
  return undefined;
}

const masters: MasterSpec[] = Array.from({ length: 3 }, (_, i) => ({ name: `master${i + 1}`, ip: `127.0.0.${i + 2}`, host: `127.0.0.${i + 2}` }));
const FIRST = "each member runs its manifest's command and args as argv, and the three form one cluster";

function liveKubeadmSuite(minor: string, find: () => Etcd | string, needs: string[]): void {
  const label = `kubeadm profile on etcd ${minor}`;
  const s = needing(suite<State>(label, {}), ['openssl', 'bash', ...needs]);
  let etcd: Etcd | undefined;
  const ready = () => {
    if (!requireTools(`live: ${label}`, 'openssl', 'bash')) return false;
    etcd ??= requireEtcd(`live: ${label}`, find());
    return etcd !== undefined;
  };
  const started = (state: State): LiveCluster => {
    if (!state.cluster || !state.healthy) {
      throw new LiveFailure(`not checked: the cluster did not start (see "${FIRST}" above: ${(state.startFailure ?? 'it did not run').split('\n')[0]})`);
    }
    const dead = crashed(state.cluster);
    if (dead.length) throw new LiveFailure(`${label}: etcd exited unexpectedly on ${dead.map((m) => m.name).join(', ')}\n${dead.map((m) => memberLog(m)).join('\n')}`);
    return state.cluster;
  };

  s.after(async (state) => {
    await stopAll(state.cluster);
    removeCluster(state.cluster);
    if (runningCount() !== 0) console.error(`\n!!!! ${label}: ${runningCount()} etcd process(es) still running after stopping them all !!!!\n`);
  });

  s(FIRST, async (state) => {
    if (!ready() || !etcd) return;
    try {
      state.cluster = await prepareCluster({ label, slug: `kubeadm-${minor}`, masters, kubeadm: { version: etcd.version }, etcdBin: etcd.bin });
      state.cluster.members.forEach(startMember);
      await waitHealthy(state.cluster, 25_000);
      state.healthy = true;
    } catch (error) {
      state.startFailure = (error as Error).message;
      throw error;
    }
    const cluster = state.cluster;
    const list = await etcdctl(cluster, ['member', 'list']);
    check(list.code === 0, () => `etcdctl member list should succeed, but ${explain(list)}\n${allLogs(cluster)}`);
    const listed = parseMemberList(list.stdout);
    for (const member of cluster.members) {
      const entry = listed.find((l) => l.name === member.name);
      check(entry?.status === 'started', () => `${member.name} should be a started member, but member list says:\n${indent(list.stdout, 2)}\n${memberLog(member)}`);
      check(entry.peerUrls === member.peerUrl && entry.clientUrls === member.clientUrl, () => `${member.name} advertises ${entry.peerUrls} / ${entry.clientUrls}, not ${member.peerUrl} / ${member.clientUrl}`);
      check(member.argv[0]?.endsWith('/etcd') && member.argv.length > 15, () => `${member.name} should run etcd with the manifest's flags, but ran ${member.argv.join(' ')}`);
    }
    check(listed.length === 3, `there should be exactly 3 members, but member list shows ${listed.length}:\n${indent(list.stdout, 2)}`);
    const status = await etcdctl(cluster, ['endpoint', 'status', '-w', 'fields']);
    const ids = new Set([...status.stdout.matchAll(/^"ClusterID" : (\d+)$/gm)].map((m) => m[1]));
    check(ids.size === 1, `every member should report one cluster ID, but they report ${[...ids].join(', ') || 'none'}`);
    const versions = new Set([...status.stdout.matchAll(/^"Version" : "([^"]+)"$/gm)].map((m) => m[1]));
    check(versions.size === 1 && versions.has(etcd?.version), `every member should run etcd ${etcd?.version}, but they report ${[...versions].join(', ')}`);
  });

  s('every flag the manifest passes is one this etcd lists in `etcd --help`', async (state) => {
    if (!ready() || !etcd) return;
    const cluster = started(state);
    const help = await run(join(etcd.bin, 'etcd'), ['--help'], { timeoutMs: 10_000 });
    const text = `${help.stdout}${help.stderr}`;
    for (const arg of cluster.members[0]?.argv.slice(1) ?? []) {
      const name = arg.slice(0, arg.indexOf('='));
      check(new RegExp(`^\\s+${name}(\\s|$)`, 'm').test(text), `${name} (from ${cluster.members[0]?.manifest}) is not in etcd ${etcd.version}'s --help`);
    }
  });

  s('every probe in each manifest answers 200 at its exact URL', async (state) => {
    if (!ready()) return;
    const cluster = started(state);
    for (const member of cluster.members) {
      check(member.httpProbes.length === 3, `${member.name}'s manifest should have liveness, readiness and startup probes, found ${member.httpProbes.length}`);
      for (const probe of member.httpProbes) {
        const answer = await httpGet(probe.url);
        check(
          answer.status === 200,
          () => `${member.name}'s ${probe.kind} probe ${probe.manifestUrl} (here ${probe.url}) should answer 200, but got ${answer.error ?? `HTTP ${answer.status}: ${answer.body}`}\n${memberLog(member)}`,
        );
      }
    }
  });

  s("the HTTPS loopback listener serves a client with the certificate, and none is plain HTTP", async (state) => {
    if (!ready()) return;
    const cluster = started(state);
    for (const member of cluster.members) {
      const loopback = `https://${member.probe.host}:${cluster.clientPort}`;
      const health = await etcdctl(cluster, ['endpoint', 'health'], { endpoints: loopback });
      check(health.code === 0, () => `${member.name}'s loopback listener ${loopback} should serve etcdctl with the client certificate, but ${explain(health)}`);
      const plain = await httpGet(`${loopback.replace('https:', 'http:')}/health`);
      check(plain.status !== 200, `${member.name}'s loopback listener should not answer plain HTTP, but got ${plain.status}: ${plain.body}`);
    }
  });

  s('verify.sh --local passes against the cluster', async (state) => {
    if (!ready() || !etcd) return;
    const cluster = started(state);
    const result = await verify(cluster, ['--local', '--etcdctl', join(etcd.bin, 'etcdctl')]);
    check(result.code === 0 && result.stdout.includes('OK: 3 members'), () => `out/verify.sh --local should pass, but ${explain(result)}`);
  });

  s('verify.sh without --local (verify.via "crictl"): etcdctl runs in the etcd container through crictl exec, and passes', async (state) => {
    if (!ready()) return;
    const cluster = started(state);
    const standIns = writeStandIns(cluster);
    const result = await verify(cluster, [], standIns.env);
    const calls = readFileSync(standIns.log, 'utf8').trimEnd();
    const how = 'out/verify.sh (stand-ins for vagrant, sudo and crictl on PATH)';
    check(result.code === 0 && result.stdout.includes('OK: 3 members'), () => `${how} should pass, but ${explain(result)}\n  the stand-ins were called as:\n${indent(calls, 4)}`);
    check(/^crictl exec 5f1e2d3c4b5a etcdctl .* member list /m.test(calls), () => `${how} should run etcdctl member list through crictl exec, but the calls were:\n${indent(calls, 2)}`);
    check(!calls.includes('docker '), () => `${how} should not use docker, but the calls were:\n${indent(calls, 2)}`);
    check(/ alarm list /.test(calls) && /IS LEADER/.test(result.stdout), () => `${how} should show every member's endpoint status and check the alarms, but printed:\n${indent(result.stdout, 2)}`);
    // Every member's readiness, read on its own master at the readiness probe's exact URL (/readyz from 3.5.11, /health before).
    for (const member of cluster.members) {
      const readiness = member.httpProbes.find((p) => p.kind === 'readiness');
      check(readiness, `${member.name} has no readiness probe`);
      const { pathname: path, search, port } = new URL(readiness.url);
      const said = new RegExp(`^\\[${member.name}\\] GET http://127\\.0\\.0\\.1:${port}${(path + search).replace(/[/?]/g, '\\$&')} on the master\nHTTP/1\\.[01] 200 OK$`, 'm');
      check(said.test(result.stdout), () => `${how} should read ${member.name}'s ${path} on its master and get 200, but printed:\n${indent(result.stdout, 2)}`);
    }
  });

  s('verify.sh on a master without crictl says so and exits 2, blaming no member', async (state) => {
    if (!ready()) return;
    const cluster = started(state);
    const standIns = writeStandIns(cluster);
    const bin = join(cluster.dir, 'no-crictl-bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['vagrant', 'sudo']) if (!existsSync(join(bin, tool))) symlinkSync(join(standIns.bin, tool), join(bin, tool));
    // /usr/local/bin is left out too: whatever else a developer has installed there is not on this master.
    const result = await verify(cluster, [], baseEnv({ PATH: `${bin}:/usr/bin:/bin` }));
    check(result.code === 2, () => `without crictl on the master, out/verify.sh should exit 2, but ${explain(result)}`);
    check(result.stderr.includes('crictl not found on master1: set verify.via in cluster.json'), () => `out/verify.sh should say "crictl not found on master1: set verify.via", but ${explain(result)}`);
    check(!/not answering|unhealthy|is not a member/.test(`${result.stdout}${result.stderr}`), () => `out/verify.sh should blame no member for a missing tool, but ${explain(result)}`);
  });

  s("with a member stopped its probes fail and the others' liveness still answers; restarted, its probes answer 200 again", async (state) => {
    if (!ready()) return;
    const cluster = started(state);
    const leading = await leader(cluster);
    const victim = cluster.members.find((m) => m !== leading);
    check(victim, `${label}: no follower to stop`);
    await stopMember(victim);
    for (const probe of victim.httpProbes) {
      const answer = await httpGet(probe.url, undefined, 2_000);
      check(answer.status === undefined, `with ${victim.name} stopped, its ${probe.kind} probe ${probe.url} should fail, but got HTTP ${answer.status}: ${answer.body}`);
    }
    // verify.sh reads the stopped member's readiness on its master, finds no answer, and says so.
    const standIns = writeStandIns(cluster);
    const verified = await verify(cluster, [], standIns.env);
    check(
      verified.code === 1 && verified.stderr.includes(`not ready: ${victim.name}: http://127.0.0.1:${new URL(victim.httpProbes[0]?.url ?? 'http://x').port}/`),
      () => `with ${victim.name} stopped, out/verify.sh should exit 1 and say "not ready: ${victim.name}", but ${explain(verified)}`,
    );
    check(!new RegExp(`not ready: (?!${victim.name}:)`).test(verified.stderr), () => `only ${victim.name} is not ready, but ${explain(verified)}`);
    for (const other of cluster.members.filter((m) => m !== victim)) {
      const liveness = other.httpProbes.find((p) => p.kind === 'liveness');
      const answer = liveness ? await httpGet(liveness.url) : { error: 'no liveness probe' };
      check(answer.status === 200, `with only ${victim.name} stopped, ${other.name}'s liveness probe should still answer 200, but got ${answer.error ?? answer.status}`);
    }
    startMember(victim);
    await waitHealthy(cluster, 25_000);
    const deadline = Date.now() + 15_000;
    for (const probe of victim.httpProbes) {
      let answer = await httpGet(probe.url);
      while (answer.status !== 200 && Date.now() < deadline) {
        await sleep(300);
        answer = await httpGet(probe.url);
      }
      check(answer.status === 200, () => `after restarting ${victim.name}, its ${probe.kind} probe ${probe.url} should answer 200, but got ${answer.error ?? answer.status}\n${memberLog(victim)}`);
    }
  });

  s.run();
}

liveKubeadmSuite('3.4', etcd34, ['etcd', 'etcdctl']);
liveKubeadmSuite('3.5', etcd35, [ETCD_35]);
