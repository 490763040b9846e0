// etcd.profile "kubeadm": the stacked-etcd static pod kubeadm v1.33 writes, with flags for the image's etcd version,
// overrides merged as kubeadm merges them, and every combination that cannot run refused where it is written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { parseCluster, formatProblem } from '../src/load.js';
import { plan } from '../src/plan.js';
import { render, yamlString } from '../src/render.js';
import { argumentsToCommand, tutorialEnv } from '../src/etcd-profile.js';
import type { Cluster } from '../src/cluster.generated.js';
import { minimalCluster } from './support/fixtures.js';

const context = { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' };

function load(document: unknown): Cluster {
  const result = parseCluster(JSON.stringify(document, null, 2), 'cluster.json');
  if (!result.ok) throw new Error(`expected ${JSON.stringify(document)} to load; got:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.cluster;
}

/** The problems cluster.json gets, as the CLI prints them. */
function problems(document: unknown): string[] {
  const result = parseCluster(JSON.stringify(document, null, 2), 'cluster.json');
  return result.ok ? result.warnings.map(formatProblem) : result.problems.map(formatProblem);
}

interface Probe {
  httpGet: { host: string; path: string; port: number; scheme: string };
  failureThreshold: number;
  periodSeconds: number;
  timeoutSeconds: number;
  initialDelaySeconds?: number;
}
interface KubeadmPod {
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    containers: {
      command: string[];
      args?: string[];
      env?: { name: string; value: string }[];
      image: string;
      livenessProbe: Probe;
      readinessProbe: Probe;
      startupProbe: Probe;
      resources: { requests: Record<string, string> };
      volumeMounts: { name: string; mountPath: string }[];
    }[];
    priorityClassName: string;
    priority: number;
    securityContext: { seccompProfile: { type: string } };
    volumes: { name: string; hostPath: { path: string; type: string } }[];
    hostNetwork: boolean;
  };
}

function pods(document: unknown): KubeadmPod[] {
  const files = render(plan(load(document), context));
  return files.filter((f) => f.path.endsWith('-etcd.manifest')).map((f) => parse(f.content) as KubeadmPod);
}

const kubeadm = (etcd: Record<string, unknown> = {}, masters = 3) => ({ ...minimalCluster(masters), etcd: { profile: 'kubeadm', ...etcd } });
const container = (pod: KubeadmPod | undefined) => {
  const c = pod?.spec.containers[0];
  if (!c) throw new Error('the pod has no container');
  return c;
};
const flags = (pod: KubeadmPod | undefined) => container(pod).command.slice(1);
const flag = (pod: KubeadmPod | undefined, name: string) => flags(pod).filter((f) => f.startsWith(`--${name}=`));

test("kubeadm's ArgumentsToCommand: an override replaces every base argument of its name, and all are sorted by name", () => {
  const base = [{ name: 'name', value: 'a' }, { name: 'snapshot-count', value: '10000' }, { name: 'data-dir', value: '/var/lib/etcd' }];
  assert.equal(argumentsToCommand(base, []), ['--data-dir=/var/lib/etcd', '--name=a', '--snapshot-count=10000']);
  assert.equal(argumentsToCommand(base, [{ name: 'snapshot-count', value: '5000' }, { name: 'quota-backend-bytes', value: '8589934592' }]), [
    '--data-dir=/var/lib/etcd',
    '--name=a',
    '--quota-backend-bytes=8589934592',
    '--snapshot-count=5000',
  ]);
});

test("the kubeadm profile's default image is kubeadm v1.33's, registry.k8s.io/etcd:3.5.21-0", () => {
  assert.is(container(pods(kubeadm())[0]).image, 'registry.k8s.io/etcd:3.5.21-0');
});

test('the container runs etcd itself with --flag=value arguments: no shell, no pipe, no ETCD_* variables', () => {
  const pod = pods(kubeadm())[0];
  const c = container(pod);
  assert.is(c.command[0], 'etcd');
  assert.is(c.args, undefined);
  assert.ok(flags(pod).every((f) => /^--[a-z0-9-]+=/.test(f)), `every argument is --name=value: ${flags(pod).join(' ')}`);
  assert.not.ok(c.command.join(' ').includes('/bin/sh') || c.command.join(' ').includes('tee'), 'no shell, no tee');
  assert.is(c.env, undefined, 'no env without etcd.extraEnv');
  const names = flags(pod).map((f) => f.slice(2, f.indexOf('=')));
  assert.equal(names, [...names].sort(), 'sorted by name, as kubeadm writes them');
});

test("each member's flags for etcd 3.5.21: kubeadm's, with an HTTPS loopback listener instead of the plain one", () => {
  const [first] = pods(kubeadm());
  assert.equal(flags(first), [
    '--advertise-client-urls=https://master1.node.local.consul:2379',
    '--cert-file=/etc/etcd/kubernetes.pem',
    '--client-cert-auth=true',
    '--data-dir=/var/lib/etcd',
    '--experimental-initial-corrupt-check=true',
    '--experimental-watch-progress-notify-interval=5s',
    '--initial-advertise-peer-urls=https://master1.node.local.consul:2380',
    '--initial-cluster=master1=https://master1.node.local.consul:2380,master2=https://master2.node.local.consul:2380,master3=https://master3.node.local.consul:2380',
    '--initial-cluster-state=new',
    '--initial-cluster-token=etcd-cluster-0',
    '--key-file=/etc/etcd/kubernetes-key.pem',
    '--listen-client-urls=https://127.0.0.1:2379,https://192.168.56.11:2379',
    '--listen-metrics-urls=http://127.0.0.1:2381',
    '--listen-peer-urls=https://192.168.56.11:2380',
    '--name=master1',
    '--peer-cert-file=/etc/etcd/kubernetes.pem',
    '--peer-client-cert-auth=true',
    '--peer-key-file=/etc/etcd/kubernetes-key.pem',
    '--peer-trusted-ca-file=/etc/etcd/ca.pem',
    '--snapshot-count=10000',
    '--trusted-ca-file=/etc/etcd/ca.pem',
  ]);
});

test("the pod: kubeadm's labels and annotation, system-node-critical, RuntimeDefault seccomp, CPU and memory requests, typed hostPaths", () => {
  const pod = pods(kubeadm())[1];
  assert.ok(pod);
  assert.equal(pod.metadata.labels, { component: 'etcd', tier: 'control-plane' });
  assert.equal(pod.metadata.annotations, { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': 'https://master2.node.local.consul:2379' });
  assert.is(pod.metadata.name, 'etcd');
  assert.is(pod.metadata.namespace, 'kube-system');
  assert.is(pod.spec.priorityClassName, 'system-node-critical');
  assert.is(pod.spec.priority, 2000001000);
  assert.is(pod.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.ok(pod.spec.hostNetwork);
  assert.equal(container(pod).resources.requests, { cpu: '100m', memory: '100Mi' });
  assert.equal(pod.spec.volumes, [
    { name: 'etcd-certs', hostPath: { path: '/etc/etcd', type: 'DirectoryOrCreate' } },
    { name: 'etcd-data', hostPath: { path: '/var/lib/etcd', type: 'DirectoryOrCreate' } },
  ]);
  assert.equal(container(pod).volumeMounts, [
    { name: 'etcd-data', mountPath: '/var/lib/etcd' },
    { name: 'etcd-certs', mountPath: '/etc/etcd' },
  ]);
});

test("probes: kubeadm's liveness, readiness and startup on the metrics listener, with the paths of the etcd version", () => {
  const probes = (image: string) => {
    const c = container(pods(kubeadm({ image }, 1))[0]);
    return { liveness: c.livenessProbe, readiness: c.readinessProbe, startup: c.startupProbe };
  };
  const current = probes('registry.k8s.io/etcd:3.5.21-0');
  assert.equal(current.liveness, { failureThreshold: 8, httpGet: { host: '127.0.0.1', path: '/livez', port: 2381, scheme: 'HTTP' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15 });
  assert.equal(current.readiness, { failureThreshold: 3, httpGet: { host: '127.0.0.1', path: '/readyz', port: 2381, scheme: 'HTTP' }, periodSeconds: 1, timeoutSeconds: 15 });
  assert.equal(current.startup, { failureThreshold: 24, httpGet: { host: '127.0.0.1', path: '/readyz', port: 2381, scheme: 'HTTP' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15 });
  const old = probes('gcr.io/etcd-development/etcd:v3.4.23');
  assert.equal([old.liveness.httpGet.path, old.readiness.httpGet.path, old.startup.httpGet.path], ['/health?exclude=NOSPACE', '/health', '/health']);
  const custom = container(pods(kubeadm({ metricsListener: { address: '::1', port: 12381 } }, 1))[0]);
  assert.equal(custom.livenessProbe.httpGet, { host: '::1', path: '/livez', port: 12381, scheme: 'HTTP' });
  assert.ok(custom.command.includes('--listen-metrics-urls=http://[::1]:12381'));
});

test('version aware: --experimental-* on 3.4 and 3.5, the 3.6 names on 3.6, none of --experimental-* on 3.7', () => {
  const at = (image: string) => pods(kubeadm({ image }, 1))[0];
  assert.equal(flag(at('gcr.io/etcd-development/etcd:v3.4.23'), 'experimental-initial-corrupt-check'), ['--experimental-initial-corrupt-check=true']);
  assert.equal(flag(at('gcr.io/etcd-development/etcd:v3.4.10'), 'experimental-watch-progress-notify-interval'), [], 'added in 3.4.11');
  const v36 = at('registry.k8s.io/etcd:3.6.4-0');
  assert.equal(flag(v36, 'feature-gates'), ['--feature-gates=InitialCorruptCheck=true']);
  assert.equal(flag(v36, 'watch-progress-notify-interval'), ['--watch-progress-notify-interval=5s']);
  assert.equal(flags(v36).filter((f) => f.startsWith('--experimental-')), []);
  assert.equal(flags(at('gcr.io/etcd-development/etcd:v3.7.0')).filter((f) => f.startsWith('--experimental-')), []);
});

// etcd 3.6 and 3.7 are not packaged here, so their rows are checked against etcd's documentation: every flag the profile
// passes must be a flag of that version. The 3.4 flags come from the real `etcd --help` of 3.4.23 in the live test;
// these are the ones 3.6 renames or turns into feature gates, from https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/
// ("Flags deprecated", "Equivalent flags of v3.5 feature gates"), and the 3.7 rule from CHANGELOG-3.7 ("Removed all
// deprecated experimental flags", https://github.com/etcd-io/etcd/pull/19959).
const RENAMED_IN_3_6: Record<string, string> = {
  'experimental-watch-progress-notify-interval': 'watch-progress-notify-interval',
  'experimental-initial-corrupt-check': 'feature-gates=InitialCorruptCheck',
  'experimental-corrupt-check-time': 'corrupt-check-time',
  'experimental-compact-hash-check-enabled': 'feature-gates=CompactHashCheck',
  'experimental-snapshot-catchup-entries': 'snapshot-catchup-entries',
};

test('3.6 and 3.7: no flag the profile passes is one that etcd 3.6 renamed (upgrade_3_6) or 3.7 removed', () => {
  for (const image of ['registry.k8s.io/etcd:3.6.4-0', 'gcr.io/etcd-development/etcd:v3.7.0']) {
    const passed = flags(pods(kubeadm({ image }, 1))[0]).map((f) => f.slice(2, f.indexOf('=')));
    for (const name of passed) {
      assert.not.ok(name in RENAMED_IN_3_6, `${image}: --${name} is deprecated in 3.6: ${RENAMED_IN_3_6[name]}`);
      assert.not.ok(name.startsWith('experimental-'), `${image}: --${name}`);
    }
  }
});

test('etcd.extraArgs replaces a flag the profile sets and adds the others; etcd.extraEnv becomes the env, sorted', () => {
  const pod = pods(kubeadm({ extraArgs: { 'snapshot-count': '5000', 'quota-backend-bytes': '8589934592' }, extraEnv: { GOMEMLIMIT: '2GiB', GOGC: '50' } }, 1))[0];
  assert.equal(flag(pod, 'snapshot-count'), ['--snapshot-count=5000']);
  assert.equal(flag(pod, 'quota-backend-bytes'), ['--quota-backend-bytes=8589934592']);
  assert.equal(container(pod).env, [{ name: 'GOGC', value: '50' }, { name: 'GOMEMLIMIT', value: '2GiB' }]);
});

test('in the tutorial profile an extra flag becomes its ETCD_* variable: replacing the tutorial\'s in place, or added after', () => {
  const tutorial = [{ name: 'ETCD_NAME', value: 'a' }, { name: 'ETCD_DATA_DIR', value: '/var/lib/etcd' }];
  assert.equal(tutorialEnv(tutorial, { extraArgs: {}, extraEnv: {} }), tutorial);
  assert.equal(tutorialEnv(tutorial, { extraArgs: { name: 'b', 'quota-backend-bytes': '1' }, extraEnv: { GOMEMLIMIT: '1GiB' } }), [
    { name: 'ETCD_NAME', value: 'b' },
    { name: 'ETCD_DATA_DIR', value: '/var/lib/etcd' },
    { name: 'ETCD_QUOTA_BACKEND_BYTES', value: '1' },
    { name: 'GOMEMLIMIT', value: '1GiB' },
  ]);
  const m = plan(load({ ...minimalCluster(1), etcd: { extraArgs: { 'snapshot-count': '5000' } } }), context).members[0];
  assert.is(m?.env.at(-1)?.name, 'ETCD_SNAPSHOT_COUNT');
});

test('an option given both as a flag and as its ETCD_* variable is refused where the variable stands', () => {
  assert.equal(problems(kubeadm({ extraEnv: { ETCD_SNAPSHOT_COUNT: '1' } }, 1)), [
    'cluster.json:12:7  /etcd/extraEnv/ETCD_SNAPSHOT_COUNT  sets etcd\'s --snapshot-count, which the manifest already passes as a flag: etcd refuses to start when one option is set both ways (since 3.4); set it in etcd.extraArgs as "snapshot-count" instead',
  ]);
  assert.equal(problems(kubeadm({ extraArgs: { 'quota-backend-bytes': '1' }, extraEnv: { ETCD_QUOTA_BACKEND_BYTES: '2' } }, 1)).length, 1);
  assert.equal(problems(kubeadm({ extraEnv: { ETCD_UNSUPPORTED_ARCH: 'arm64', GOMEMLIMIT: '1GiB' } }, 1)), [], 'a variable of no flag the manifest passes is fine');
  const tutorial = (etcd: Record<string, unknown>) => problems({ ...minimalCluster(1), etcd });
  assert.match(tutorial({ extraEnv: { ETCD_NAME: 'x' } }).join('\n'), /\/etcd\/extraEnv\/ETCD_NAME {2}the tutorial profile already sets ETCD_NAME/);
  assert.match(tutorial({ extraArgs: { 'quota-backend-bytes': '1' }, extraEnv: { ETCD_QUOTA_BACKEND_BYTES: '2' } }).join('\n'), /ETCD_QUOTA_BACKEND_BYTES {2}sets the option that etcd.extraArgs "quota-backend-bytes" sets too/);
});

test('the tutorial profile refuses an image without /bin/sh or /usr/bin/tee, naming the remedy', () => {
  const tutorial = (image: string) => problems({ ...minimalCluster(1), etcd: { image } }).join('\n');
  assert.match(tutorial('registry.k8s.io/etcd:3.5.21-0'), /\/etcd\/image {2}registry.k8s.io\/etcd:3.5.21-0 has no \/usr\/bin\/tee, which the tutorial profile's command runs: every member would crash-loop; use "profile": "kubeadm"/);
  assert.match(tutorial('quay.io/coreos/etcd:v3.5.7'), /has no \/bin\/sh or \/usr\/bin\/tee/);
  assert.is(tutorial('quay.io/coreos/etcd:v3.5.6'), '', 'the last upstream image with a shell and tee is fine');
  assert.match(tutorial('mirror.example/etcd:v3.3.5'), /warning: the tutorial profile runs \/bin\/sh .* whether mirror.example\/etcd:v3.3.5 has both is not known/);
});

test('a version the table does not know, or none at all, is refused with the remedy; etcd.version supplies it', () => {
  const digest = `registry.k8s.io/etcd@sha256:${'b'.repeat(64)}`;
  assert.match(problems(kubeadm({ image: digest }, 1)).join('\n'), /\/etcd\/image {2}the image .* names no etcd version in its tag .*: set etcd.version/);
  assert.equal(problems(kubeadm({ image: digest, version: '3.5.21' }, 1)), []);
  assert.match(problems(kubeadm({ image: 'registry.k8s.io/etcd:3.8.0-0' }, 1)).join('\n'), /etcd 3.8.0 is not in etcd-bootstrap's version table \(it knows 3.3 to 3.7\)/);
  assert.match(problems(kubeadm({ image: 'registry.k8s.io/etcd:3.5.21-0', version: '3.5.20' }, 1)).join('\n'), /\/etcd\/version {2}says 3.5.20 but the image registry.k8s.io\/etcd:3.5.21-0 is 3.5.21/);
  assert.match(problems(kubeadm({ image: 'quay.io/coreos/etcd:v3.3.5' }, 1)).join('\n'), /the kubeadm profile needs etcd 3.4 or later/);
});

test('extraArgs cannot move the data directory or the metrics listener away from what the volumes and probes follow', () => {
  assert.match(problems(kubeadm({ extraArgs: { 'data-dir': '/data' } }, 1)).join('\n'), /\/etcd\/extraArgs\/data-dir {2}is set by etcd.dataDir/);
  assert.match(problems(kubeadm({ extraArgs: { 'listen-metrics-urls': 'http://0.0.0.0:2381' } }, 1)).join('\n'), /is set by etcd.metricsListener \(the probes ask it\)/);
  assert.match(problems({ ...minimalCluster(1), etcd: { extraArgs: { 'data-dir': '/data' } } }).join('\n'), /is set by etcd.dataDir/);
});

test('extraArgs names: without dashes, and no --experimental-* on etcd 3.7', () => {
  assert.match(problems(kubeadm({ extraArgs: { '--quota-backend-bytes': '1' } }, 1)).join('\n'), /\/etcd\/extraArgs\/--quota-backend-bytes {2}must be an etcd flag name without its dashes/);
  assert.match(
    problems(kubeadm({ image: 'gcr.io/etcd-development/etcd:v3.7.0', extraArgs: { 'experimental-compaction-batch-limit': '100' } }, 1)).join('\n'),
    /etcd 3.7.0 has no --experimental-compaction-batch-limit: etcd 3.7 removed every --experimental-\* flag/,
  );
  assert.equal(problems(kubeadm({ image: 'registry.k8s.io/etcd:3.6.4-0', extraArgs: { 'experimental-compaction-batch-limit': '100' } }, 1)), [], '3.6 still has them');
});

test('preflight: the kubeadm profile also needs the metrics port free, and the certificate to cover its loopback listener', () => {
  const tutorial = plan(load(minimalCluster(1)), context);
  assert.equal(tutorial.etcd.hostPorts, ['2379', '2380']);
  assert.not.ok(tutorial.subjectAltNames.includes('127.0.0.1'));
  const p = plan(load(kubeadm({ metricsListener: { port: 12381 } }, 1)), context);
  assert.equal(p.etcd.hostPorts, ['2379', '2380', '12381']);
  assert.equal(p.subjectAltNames, ['master1.node.local.consul', '192.168.56.11', '127.0.0.1']);
  assert.equal(p.subjectAltNameChecks.at(-1), '-checkip');
  const v6 = plan(load({ masters: [{ name: 'a', ip: 'fd00::1', host: 'a.example' }], etcd: { profile: 'kubeadm' } }), context);
  assert.ok(v6.subjectAltNames.includes('::1'), 'an IPv6 master listens on ::1');
});

test('verify.via: docker in the tutorial profile, crictl in the kubeadm profile, or as cluster.json says', () => {
  const via = (document: unknown) => plan(load(document), context).verify;
  assert.equal([via(minimalCluster(1)).via, via(minimalCluster(1)).tool], ['docker', 'docker']);
  assert.equal([via(kubeadm({}, 1)).via, via(kubeadm({}, 1)).tool, via(kubeadm({}, 1)).statusAndAlarms], ['crictl', 'crictl', true]);
  const local = via({ ...kubeadm({}, 1), verify: { via: 'local' } });
  assert.equal([local.via, local.tool, local.toolCheck], ['local', '', 'true']);
  assert.is(via(kubeadm({}, 1)).toolCheck, "command -v crictl >/dev/null || exit 3; ids=$(sudo crictl ps --name '^etcd$' --state running --quiet) && [[ -n $ids ]] || exit 4", 'crictl needs a running etcd container to exec in: exit 4 sends verify.sh to the next master');
  const script = render(plan(load({ ...minimalCluster(1), verify: { via: 'local' } }), context)).find((f) => f.path === 'verify.sh')?.content ?? '';
  assert.match(script, /^mode=local$/m, 'verify.via "local" makes --local the default');
});

test('crictl exec cannot set ETCDCTL_API=3, so verify.via "crictl" with the v2-speaking etcdctl of etcd 3.3 is refused', () => {
  assert.match(problems({ ...minimalCluster(1), verify: { via: 'crictl' } }).join('\n'), /\/verify\/via {2}verify.sh runs etcdctl in the etcd container with crictl exec, .* etcd 3.3.5 speaks the v2 API without it/);
  assert.equal(problems({ ...minimalCluster(1), etcd: { image: 'quay.io/coreos/etcd:v3.4.22' }, verify: { via: 'crictl' } }), []);
});

test('a flag stays a plain YAML scalar; what YAML would read otherwise is quoted', () => {
  assert.is(yamlString('--name=master1'), '--name=master1');
  assert.is(yamlString('--initial-cluster=a=https://a:2380,b=https://b:2380'), '--initial-cluster=a=https://a:2380,b=https://b:2380');
  for (const value of ['-1', '--', '- x', '-.inf', '--a b']) assert.is(yamlString(value), JSON.stringify(value), value);
});

test.run();
