// Stage 2 of 4: Cluster → Plan. Pure functions, no I/O: every value a template places is derived here, once.
//
// Every string in the plan is final text: templates place values and never compute them. Numbers are strings
// too, because Handlebars with noEscape adds adjacent numbers ("{{a}}{{b}}" with 1 and 2 gives "3").
import { posix } from 'node:path';
import type { Cluster, Master } from './cluster.generated.js';
import { connectionHeader } from './ssh-options.js';
import { canonicalIp, ipVersion } from './address.js';
import { commentSafe } from './safe-text.js';
import {
  etcdImage,
  etcdVersion,
  kubeadmBaseFlags,
  kubeadmCommand,
  kubeadmEnv,
  loopbackFor,
  tutorialEnv,
  verifyVia,
  type EnvVar,
  type Profile,
  type VerifyVia,
} from './etcd-profile.js';
import {
  BLOCK_BEGIN,
  BLOCK_END,
  blockText,
  dropInText,
  installCommands,
  installedCheck,
  PACKAGE_MANAGERS,
  PROVISIONS,
  timeSyncService,
  type ServiceSetup,
  type TimeSyncService,
} from './time-sync.js';
import { KUBEADM, versionRules, type EtcdVersion, type ProbePaths, type VersionRules } from './etcd-versions.js';
import { apiserverEtcdPlan, certificatePlan, memberCertificates, sanCheckOption, memberTlsFiles, remotePath, tlsFileWord, type ApiserverEtcdPlan, type CertificatePlan, type CertificateSpec, type TlsFile } from './certificates.js';

export type { EnvVar } from './etcd-profile.js';
export type { TlsFile } from './certificates.js';

/** One etcd member: a master and everything derived from it. */
export interface Member {
  name: string;
  ip: string;
  host: string;
  /** ETCD_INITIAL_ADVERTISE_PEER_URLS: how peers reach this member. */
  peerUrl: string;
  /** ETCD_ADVERTISE_CLIENT_URLS: how clients reach this member. */
  clientUrl: string;
  /** ETCD_LISTEN_PEER_URLS. */
  listenPeerUrl: string;
  /** ETCD_LISTEN_CLIENT_URLS: the TLS listener on the master's ip, plus the plain loopback one when enabled. */
  listenClientUrls: string;
  /** The ip as `ip addr` prints it (IPv6 compressed and lowercase, RFC 5952), to find it among a host's addresses. */
  ipText: string;
  /** Where the kubelet's liveness probe opens a TCP connection. */
  probeHost: string;
  probePort: string;
  /** The etcd container's environment: the tutorial's, in its order; in the kubeadm profile, etcd.extraEnv. */
  env: EnvVar[];
  /** The kubeadm profile's container command, `etcd` and its --flag=value arguments; empty in the tutorial profile. */
  command: string[];
  /** The file in out/ that holds this member's manifest. */
  manifestFile: string;
  /** Whether it joins a running cluster (joinedWith, rejoinedWith): out/members.sh starts it, not distribute.sh. */
  joining: boolean;
  /** The certificate files distribute.sh gives this master: its own, and the CA (src/certificates.ts). */
  tlsFiles: TlsFile[];
  /** distribute.sh's words for them, space-separated: `fromOut:staged:remote:mode` each (no path holds ':' or a space). */
  tlsFileList: string;
  /** Their staged names, for the step line ("kubernetes.pem, kubernetes-key.pem, ca.pem"). */
  tlsFileNames: string;
  /** Per port that preflight.sh checks (etcd.hostPorts), where this member's etcd binds it. */
  portBinds: PortBind[];
}

/**
 * Where a member's etcd binds one port, and which listeners, as `ss -Htln` prints their local address, would keep
 * it from binding there: only those are a conflict for preflight.sh.
 */
export interface PortBind {
  /** The member's name and the port, for the script's table: "master1:2379". */
  key: string;
  port: string;
  /** The addresses etcd binds the port on, as a sentence: "192.168.56.11 and 127.0.0.1"; "" when it binds none. */
  addresses: string;
  /**
   * ss's local addresses (ADDRESS:PORT) that would keep etcd from binding, space-separated: the same address (an
   * IPv4 one also in its IPv4-mapped IPv6 form), the wildcards of its family, and `*` (an IPv6 wildcard socket that
   * also takes IPv4). `any:PORT` when etcd binds a wildcard or a name itself: every listener on the port is then one.
   */
  conflicts: string;
}

export interface Node {
  name: string;
  role: 'master' | 'worker';
  /** Where the transport connects: the name for vagrant; for ssh the address, else a master's host, a worker's name. */
  address: string;
}

/** What the ssh transport passes to every ssh call, besides the identity file (a path the script resolves). */
export interface SshPlan {
  /**
   * ssh options, one word each: BatchMode so a prompt fails at once, -l USER, -p PORT, -o OPTION…, and with a jump
   * host -o ProxyCommand=… (see proxyCommand).
   */
  args: string[];
  /** The identity file relative to out/, or "" for ssh's defaults. */
  identityFromOut: string;
  /** The variable the script exports the resolved identity file in, for the ProxyCommand (SSH_IDENTITY_VARIABLE). */
  identityVariable: string;
}

/**
 * The environment variable through which a jump host's ProxyCommand gets the identity file: the script resolves
 * that path at run time (it is relative to the script), and a variable needs no quoting for ssh's `%` tokens or
 * for the shell that runs the ProxyCommand.
 */
export const SSH_IDENTITY_VARIABLE = 'ETCD_BOOTSTRAP_SSH_IDENTITY';

/** A jump host as cluster.json gives it, [user@]host[:port], split; an IPv6 host loses its brackets. */
export function jumpHostParts(jumpHost: string): { user: string; host: string; port: string } {
  const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::([0-9]+))?$/.exec(jumpHost);
  if (!match) throw new Error(`not [user@]host[:port]: ${jumpHost}`);
  return { user: match[1] ?? '', host: (match[2] ?? '').replace(/^\[(.*)\]$/, '$1'), port: match[3] ?? '' };
}

/**
 * One word of a ProxyCommand. ssh hands the command to the user's shell (`$SHELL -c "exec …"`) after expanding its
 * own `%` tokens, so a word that is not plain is single-quoted (the one quoting every shell reads alike; `$'…'` is
 * bash's own) and every `%` is doubled: the hop's ssh then expands its options' tokens for the jump host itself.
 */
export function proxyCommandWord(word: string): string {
  const quoted = /^[A-Za-z0-9_@=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/%/g, '%%');
}

/**
 * The ProxyCommand that replaces `ssh -J`: OpenSSH applies none of -i/-o (not even BatchMode) to the hop through
 * the jump host, so the hop runs ssh itself with the same BatchMode, options and identity, and the jump host's own
 * user and port. `-W '[%h]:%p'` is what OpenSSH's -J runs (the brackets keep an IPv6 target whole).
 */
export function proxyCommand(jumpHost: string, options: readonly string[], withIdentity: boolean): string {
  const hop = jumpHostParts(jumpHost);
  const words = [
    'ssh',
    '-o', 'BatchMode=yes',
    ...(hop.user ? ['-l', hop.user] : []),
    ...(hop.port ? ['-p', hop.port] : []),
    ...options.flatMap((option) => ['-o', option]),
  ].map(proxyCommandWord);
  return [
    ...words,
    ...(withIdentity ? ['-i', `"$${SSH_IDENTITY_VARIABLE}"`] : []),
    '-W', "'[%h]:%p'",
    '--', proxyCommandWord(hop.host),
  ].join(' ');
}

/** How ntp.sh installs time sync on one family of distributions (src/time-sync.ts). */
export interface TimeSyncFamily {
  /** The package managers that stand for the family, as a bash case pattern ("dnf | yum"). */
  managers: string;
  service: string;
  /** A shell condition: the node has the service. */
  installed: string;
  /** The commands that install it; none where there is nothing to install (then `missing` says why). */
  install: string[];
  missing: string;
  /** The unit and where its servers go: the fallback first, each later one chosen when its `when` holds. */
  setups: ServiceSetup[];
}

/** How ntp.sh installs and starts time sync. */
export interface TimeSyncPlan {
  service: string;
  /** Run after the install, as root, on every family; "" when starting the unit is enough. */
  enable: string;
  /** The largest allowed clock difference, as a decimal string. */
  maxSkewSeconds: string;
  /** What to look at when a node's clock is off: the service's own view of its time servers, and its status. */
  skewAdvice: string;
  /** The package managers ntp.sh looks for, in order, and what it says when a node has none of them. */
  managers: string[];
  noManager: string;
  families: TimeSyncFamily[];
  /** timeSync.servers; empty when cluster.json names none (ntp.sh then leaves each service's servers alone). */
  servers: string[];
  /** What a drop-in file holds, and the marked block for a shared file (src/time-sync.ts). */
  dropIn: string;
  block: string;
  blockBegin: string;
  blockEnd: string;
}

/** What the kubeadm profile's pod says besides each member's command: probes on the metrics listener. */
export interface KubeadmPodPlan {
  /** The Kubernetes release whose kubeadm this pod follows, for the manifest's header. */
  kubernetesVersion: string;
  /** The etcd version the flags and probes were chosen for. */
  etcdVersion: string;
  priority: string;
  probe: ProbePaths & { host: string; port: string };
}

export interface Plan {
  /** The generated-by line every file carries, in the comment syntax of none: each template wraps it. */
  generatedBy: string;
  members: Member[];
  memberCount: string;
  /** out/ as seen from the directory that holds cluster.json, where the operator runs the scripts from. */
  outDir: string;
  /** Masters then workers: every node that gets time sync. */
  nodes: Node[];
  /** The names of `nodes`, for a bash array. */
  nodeNames: string[];
  /** The members' names, peer URLs and client URLs, index for index: what verify.sh expects to find. */
  memberNames: string[];
  /**
   * What the certificate's SANs must cover: every master's host and ip, each once, index for index with the
   * `openssl x509` option that checks it (-checkip for an address, -checkhost for a DNS name).
   */
  subjectAltNames: string[];
  subjectAltNameChecks: string[];
  peerUrls: string[];
  clientUrls: string[];
  /** ETCD_INITIAL_CLUSTER: name=peerUrl for every founding member, in cluster.json's order. */
  initialCluster: string;
  /**
   * restore.sh's --initial-cluster: name=peerUrl for every member now (the founding ones, less those removed, with
   * those that joined), in cluster.json's order. A restore starts a new cluster of the members there are: one named
   * here but not restored would stay an unstarted voting member, and a member not named here cannot start
   * ("couldn't find local name … in the initial cluster configuration").
   */
  restoreInitialCluster: string;
  /** The partial under templates/partials/ that is the manifest of the chosen profile. */
  manifestPartial: string;
  etcd: {
    profile: Profile;
    image: string;
    clusterToken: string;
    dataDir: string;
    certDir: string;
    manifestDir: string;
    clientPort: string;
    peerPort: string;
    /** Every port etcd listens on on a master, which preflight.sh finds free: the kubeadm profile adds the metrics port. */
    hostPorts: string[];
    /** The same ports as the README says them: "2379 and 2380", "2379, 2380 and 2381". */
    hostPortsText: string;
    /** The plain-HTTP loopback client URL, or "" when the listener is off or HTTPS. */
    localClientUrl: string;
    /** The tutorial profile's loopback listener, HTTP or HTTPS, or "" when it is off (kubeadm's is not this one). */
    localListenUrl: string;
  };
  /** Present for the kubeadm profile only. */
  kubeadm: KubeadmPodPlan | undefined;
  /**
   * The CA, and the client certificate and key verify.sh presents (here and on a master): the shared certificate, or
   * in the per-member layout the health-check client.
   */
  tls: { ca: TlsFile; cert: TlsFile; key: TlsFile };
  /** Every certificate certs.sh makes and preflight.sh checks (src/certificates.ts). */
  certificates: CertificatePlan;
  /** kube-apiserver's settings for this etcd (out/kube-apiserver-etcd.yaml). */
  apiserver: ApiserverEtcdPlan;
  manifest: {
    /** The file name in the remote user's home after the copy (the tutorial's ~/etcd.manifest). */
    staged: string;
    /** Where kubelet reads it. */
    remote: string;
    mode: string;
    /**
     * A temporary name beside the manifest directory, on the same file system, so that the final `mv` is an atomic
     * rename: kubelet reads every file in its manifest directory and must never see half a manifest.
     */
    swap: string;
    /**
     * Where members.sh moves the manifest of a member it removes (with a timestamp appended): beside the manifest
     * directory, not in it, because kubelet runs every file in it.
     */
    aside: string;
  };
  transport: Cluster['transport'];
  /** The partial under templates/partials/ that defines the scripts' transport_run. */
  transportPartial: string;
  /** The scripts' header lines on how they connect: the ssh options they pass, the unsafe ones named loudly. */
  connection: string[];
  /** Present for the ssh transport only. */
  ssh: SshPlan | undefined;
  timeSync: TimeSyncPlan;
  /** Everything verify.sh needs to ask a member from inside its own container. */
  verify: {
    /**
     * Where verify.sh asks `etcdctl member list` on the master it reached, in order, until one answers (memberListTries):
     * the endpoints (first the tutorial's: its loopback listener, or all members), and "yes" where the client
     * certificate is presented, index for index.
     */
    memberListEndpoints: string[];
    memberListTls: string[];
    /** Every member's client URL, comma-separated, as etcdctl's --endpoints takes them. */
    allClientUrls: string;
    /** How etcdctl is reached when verify.sh gets no --local: docker run or crictl exec on a master, or locally. */
    via: VerifyVia;
    viaCrictl: boolean;
    viaLocal: boolean;
    /** The tool a master needs for `via` ("" for local), which verify.sh looks for before it relies on it. */
    tool: string;
    /** The script that looks for it on a master: exit 3 when it is missing (reached, but no tool), 4 when crictl has no running etcd container to exec in. */
    toolCheck: string;
    /** The kubeadm profile's extra checks: every member's endpoint status, and no alarm raised. */
    statusAndAlarms: boolean;
    /**
     * The kubeadm profile's readiness check of every member, on its own master: the metrics listener (loopback only)
     * and the readiness probe's path, /readyz where the etcd version has it, /health before. "" in the tutorial profile.
     */
    readiness: { host: string; port: string; path: string; url: string };
  };
  /** How a script runs etcdctl on a master, shared by verify.sh and backup.sh so that both reach it the same way. */
  etcdctlOnMaster: EtcdctlOnMaster;
  /** backup.sh, restore.sh and the backup timer (backupPlan). */
  backup: BackupPlan;
  mermaid: { members: { id: string; label: string }[] };
  /** How a change reaches a running cluster: one master at a time, each gated on health (distribute.sh, members.sh). */
  rolling: RollingPlan;
  membership: MembershipPlan;
}

/**
 * The health gates of a change to a running cluster. A member counts as caught up when its raft index is within
 * `maxRaftLag` entries of the leader's: a client writing every 50 ms moves the index by about 20 a second, and the
 * two indexes are read one after the other, so an exact match would make a healthy member look behind.
 */
export interface RollingPlan {
  maxRaftLag: string;
  /** How long to wait for a member to restart, or to be healthy and caught up, before giving up (seconds). */
  timeoutSeconds: string;
  /** How often to ask, while waiting (seconds). */
  pollSeconds: string;
}

export function rollingPlan(): RollingPlan {
  // 120 s: kubelet notices a changed static pod within its file check period (20 s by default) and stops the old
  // container within its grace period (30 s) before it starts the new one; etcd then replays its WAL.
  return { maxRaftLag: '20', timeoutSeconds: '120', pollSeconds: '0.2' };
}

/**
 * etcdctl in the etcd image on a master, the tutorial's way: `sudo docker run` with the host's network and the
 * certificate directory mounted at its own path. A script places `run`, then any mounts of its own (`-v DIR:DIR`),
 * then `image` and the tool. The tutorial's `-it` is left out: it fails without a terminal.
 */
export interface EtcdctlOnMaster {
  run: string[];
  image: string;
  etcdctl: string;
  /**
   * With crictl: the command line that prints the IDs of the running etcd containers on a master (kubelet names a
   * static pod's container after the manifest's container, "etcd"); empty output means etcd is not running there.
   */
  runningEtcd: string;
}

export function etcdctlOnMaster(cluster: Cluster): EtcdctlOnMaster {
  const { certDir } = cluster.etcd;
  return {
    run: ['sudo', 'docker', 'run', '--rm', '--net=host', '-v', `${certDir}:${certDir}:ro`, '-e', 'ETCDCTL_API=3'],
    image: etcdImage(cluster.etcd),
    etcdctl: '/usr/local/bin/etcdctl',
    runningEtcd: RUNNING_ETCD,
  };
}

const RUNNING_ETCD = "sudo crictl ps --name '^etcd$' --state running --quiet";

/** What backup.sh, restore.sh and the systemd units place. */
export interface BackupPlan {
  /** Snapshots come to this machine ("operator") or stay on the master they were taken on ("master"). */
  onOperator: boolean;
  /** The operator's snapshot directory as cluster.json gives it (relative to cluster.json), and relative to out/. */
  dir: string;
  dirFromOut: string;
  /** dirFromOut as a comment may show it (it holds the path to cluster.json's directory, which may hold anything). */
  dirFromOutText: string;
  /** The snapshot directory on a master, when they stay there. */
  masterDir: string;
  keep: string;
  /** Every snapshot's name starts so: `<cluster token>-`, then `<UTC YYYYMMDDhhmmss>-rev<revision>.db`. */
  namePrefix: string;
  /**
   * The tool that reads and restores a snapshot: etcdutl from etcd 3.5 (etcdctl's `snapshot status` and `snapshot
   * restore` are deprecated there and gone in 3.6), etcdctl before. `snapshotToolPath` is its path in the image.
   */
  snapshotTool: 'etcdutl' | 'etcdctl';
  snapshotToolPath: string;
  /**
   * How backup.sh and restore.sh run etcdctl and the snapshot tool on a master, after verify.via: "docker", a new
   * container of the etcd image; "crictl", `crictl exec` in the running etcd container; "host", the master's own
   * (verify.via "local" reaches no container). backup.sh's own default is etcdctl on this machine when verify.via is
   * "local" (`local`).
   */
  onMaster: 'docker' | 'crictl' | 'host';
  viaCrictl: boolean;
  local: boolean;
  /**
   * The running etcd container sees only its own mounts (certDir and dataDir, at their own paths): what `crictl exec`
   * writes or reads must be inside dataDir. These name the directories made there for one run, `<prefix><UTC time>`;
   * each is hidden (etcd reads only `member/` there, and only warns of another name when it starts).
   */
  backupStageInData: string;
  restoreStageInData: string;
  /** Where restore.sh stages otherwise: beside the data directory (same file system, so every move is a rename). */
  restoreStageBeside: string;
  /** restore.sh, per member, index for index with memberNames: the address and ports judged to know etcd stopped. */
  memberIps: string[];
  /** Where restore.sh puts a member's manifest while it restores: beside the manifest directory, never in it. */
  manifestAsidePrefix: string;
  /** How many members a cluster of this size needs up to accept writes: more than half. */
  quorum: string;
  /** The systemd timer's OnCalendar. */
  schedule: string;
  /** out/ on the machine that runs the timer; backup.sh there, and the directory it runs from (cluster.json's, where vagrant looks). */
  timerOutDir: string;
  timerScript: string;
  timerWorkingDirectory: string;
}

/**
 * etcdutl exists from etcd 3.5 on (the version as src/etcd-versions.ts reads it from etcd.version or the image's
 * tag); a version nobody states gets etcdctl, which every 3.x has.
 */
export function snapshotTool(version: EtcdVersion | undefined): 'etcdutl' | 'etcdctl' {
  return version && (version.major > 3 || (version.major === 3 && version.minor >= 5)) ? 'etcdutl' : 'etcdctl';
}

/**
 * A path as a systemd unit file may hold it: `%` starts a specifier there (systemd.unit(5), "Specifiers"), so it is
 * doubled; a line break or other control character cannot be carried at all, so it is shown escaped (the unit then
 * names a path that does not exist, and fails when started, rather than reading half a line as another setting).
 */
export function unitPathValue(path: string): string {
  return commentSafe(path).replace(/%/g, '%%');
}

/** A path as the first word of ExecStart=: quoted when it holds a space or a quote (systemd.service(5), "Command lines"). */
export function unitCommandWord(path: string): string {
  const value = unitPathValue(path);
  return /[\s"'\\]/.test(value) ? `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"` : value;
}

export function backupPlan(cluster: Cluster, context: PlanContext): BackupPlan {
  const { backup, etcd } = cluster;
  const tool = snapshotTool(etcdVersion(etcd));
  const via = verifyVia(etcd.profile, cluster.verify.via);
  const dataDir = posix.normalize(etcd.dataDir).replace(/(.)\/$/, '$1');
  const dirFromOut = posix.isAbsolute(backup.dir) ? backup.dir : posix.normalize(posix.join(context.configDirFromOut, backup.dir));
  return {
    onOperator: backup.where === 'operator',
    dir: commentText(backup.dir),
    dirFromOut,
    dirFromOutText: commentText(dirFromOut),
    masterDir: backup.masterDir,
    keep: String(backup.keep),
    namePrefix: `${etcd.clusterToken}-`,
    snapshotTool: tool,
    snapshotToolPath: `/usr/local/bin/${tool}`,
    onMaster: via === 'local' ? 'host' : via,
    viaCrictl: via === 'crictl',
    local: via === 'local',
    backupStageInData: posix.join(dataDir, '.etcd-bootstrap-backup-'),
    restoreStageInData: posix.join(dataDir, '.etcd-bootstrap-restore-'),
    restoreStageBeside: `${dataDir}.restoring-`,
    memberIps: cluster.masters.map((m) => ipText(m.ip)),
    manifestAsidePrefix: posix.join(posix.dirname(etcd.manifestDir), 'etcd.manifest.restore-'),
    quorum: String(Math.floor(cluster.masters.length / 2) + 1),
    schedule: backup.schedule,
    timerOutDir: backup.timerOutDir,
    timerScript: unitCommandWord(posix.join(backup.timerOutDir, 'backup.sh')),
    timerWorkingDirectory: unitPathValue(posix.normalize(posix.join(backup.timerOutDir, context.configDirFromOut))),
  };
}

/** What the plan needs to know about where things are, besides the cluster itself. */
export interface PlanContext {
  /** cluster.json's path as the header names it, e.g. "cluster.json". */
  configName: string;
  /** The directory holding cluster.json, relative to out/ ("..", usually). TLS paths are relative to it. */
  configDirFromOut: string;
  /** out/ relative to the directory holding cluster.json ("out", usually). */
  outDirFromConfig: string;
}

/** A host as it stands in a URL: IPv6 literals in brackets (RFC 3986 §3.2.2). */
export function urlHost(host: string): string {
  return ipVersion(host) === 6 ? `[${host}]` : host;
}

/** An address in its canonical text: RFC 5952 for IPv6 (WHATWG URL serialises hosts that way), as is for IPv4. */
export function ipText(ip: string): string {
  return ipVersion(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

export function url(scheme: 'http' | 'https', host: string, port: number): string {
  return `${scheme}://${urlHost(host)}:${port}`;
}

/** `master1=https://master1…:2380,master2=…`, exactly the tutorial's MASTER_LIST. */
export function initialCluster(members: readonly Pick<Member, 'name' | 'peerUrl'>[]): string {
  return members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
}

/**
 * The tutorial profile's loopback listener: plain HTTP (the tutorial's), HTTPS with client certificates
 * (localListener.tls), or "" when it is off. The kubeadm profile's is its own, always HTTPS on the client port.
 */
export function localListenUrl(cluster: Cluster): string {
  const listener = cluster.etcd.localListener;
  if (cluster.etcd.profile === 'kubeadm' || !listener.enabled) return '';
  return url(listener.tls ? 'https' : 'http', listener.address, listener.port ?? cluster.etcd.clientPort);
}

/** The plain-HTTP loopback listener, which asks nothing of a client, or "" when there is none. */
export function localClientUrl(cluster: Cluster): string {
  const local = localListenUrl(cluster);
  return local.startsWith('http:') ? local : '';
}

/** kubeadm's --listen-metrics-urls: plain HTTP on a loopback address, where kubelet's probes ask. */
export function metricsUrl(cluster: Cluster): string {
  const { address, port } = cluster.etcd.metricsListener;
  return url('http', address, port);
}

/** ETCD_INITIAL_ADVERTISE_PEER_URLS, and this member's entry in the initial cluster. */
export function peerUrl(cluster: Cluster, master: Master): string {
  return url('https', master.host, cluster.etcd.peerPort);
}

function member(cluster: Cluster, master: Master, start: MemberStart, certificates: CertificatePlan): Member {
  const initial = start.initialCluster;
  const { etcd } = cluster;
  const certDir = etcd.certDir;
  const { server, peer } = memberCertificates(certificates, master.name);
  const files = {
    cert: remotePath(server.cert, certDir),
    key: remotePath(server.key, certDir),
    peerCert: remotePath(peer.cert, certDir),
    peerKey: remotePath(peer.key, certDir),
    ca: remotePath(certificates.ca, certDir),
  };
  const tlsFiles = memberTlsFiles(certificates, master.name, certDir);
  const ownPeerUrl = peerUrl(cluster, master);
  const clientUrl = url('https', master.host, etcd.clientPort);
  const listenPeerUrl = url('https', master.ip, etcd.peerPort);
  const local = localListenUrl(cluster);
  const listener = etcd.localListener;
  const kubeadm = etcd.profile === 'kubeadm';
  // kubeadm replaces the plain-HTTP loopback listener with an HTTPS one, on the loopback of the master's family.
  const listenClientUrls = kubeadm
    ? [url('https', loopbackFor(master), etcd.clientPort), url('https', master.ip, etcd.clientPort)].join(',')
    : [url('https', master.ip, etcd.clientPort), ...(local ? [local] : [])].join(',');
  // The tutorial's variables, in the tutorial's order. Each is an ETCD_* variable and never also a flag:
  // etcd refuses to start when one option is set both ways.
  const tutorial: EnvVar[] = [
    { name: 'ETCD_NAME', value: master.name },
    { name: 'ETCD_CERT_FILE', value: files.cert },
    { name: 'ETCD_KEY_FILE', value: files.key },
    { name: 'ETCD_PEER_CERT_FILE', value: files.peerCert },
    { name: 'ETCD_PEER_KEY_FILE', value: files.peerKey },
    { name: 'ETCD_TRUSTED_CA_FILE', value: files.ca },
    { name: 'ETCD_PEER_TRUSTED_CA_FILE', value: files.ca },
    { name: 'ETCD_PEER_CLIENT_CERT_AUTH', value: 'true' },
    { name: 'ETCD_CLIENT_CERT_AUTH', value: 'true' },
    { name: 'ETCD_INITIAL_ADVERTISE_PEER_URLS', value: ownPeerUrl },
    { name: 'ETCD_ADVERTISE_CLIENT_URLS', value: clientUrl },
    { name: 'ETCD_LISTEN_PEER_URLS', value: listenPeerUrl },
    { name: 'ETCD_LISTEN_CLIENT_URLS', value: listenClientUrls },
    { name: 'ETCD_INITIAL_CLUSTER_TOKEN', value: etcd.clusterToken },
    { name: 'ETCD_INITIAL_CLUSTER', value: initial },
    { name: 'ETCD_INITIAL_CLUSTER_STATE', value: start.state },
    { name: 'ETCD_DATA_DIR', value: etcd.dataDir },
  ];
  const version = etcdVersion(etcd);
  const rules = version && versionRules(version);
  // load.ts has refused a kubeadm cluster whose etcd version the table does not know.
  if (kubeadm && !rules) throw new Error(`no version rules for the etcd of ${etcdImage(etcd)}`);
  const command =
    kubeadm && rules
      ? kubeadmCommand(
          kubeadmBaseFlags(
            {
              name: master.name,
              listenClientUrls,
              clientUrl,
              listenPeerUrl,
              peerUrl: ownPeerUrl,
              initialCluster: initial,
              initialClusterState: start.state,
              metricsUrl: metricsUrl(cluster),
              ...files,
            },
            etcd,
            rules,
          ),
          etcd,
        )
      : [];
  return {
    name: master.name,
    ip: master.ip,
    host: master.host,
    ipText: ipText(master.ip),
    peerUrl: ownPeerUrl,
    clientUrl,
    listenPeerUrl,
    listenClientUrls,
    // The tutorial probes the plain loopback listener. With it off, the probe opens the TLS listener on the
    // master's own ip instead (a TCP probe needs no certificate).
    probeHost: listener.enabled ? listener.address : master.ip,
    probePort: String(listener.enabled ? (listener.port ?? etcd.clientPort) : etcd.clientPort),
    env: kubeadm ? kubeadmEnv(etcd) : tutorialEnv(tutorial, etcd),
    command,
    manifestFile: `${master.name}-etcd.manifest`,
    joining: start.state === 'existing',
    tlsFiles,
    tlsFileList: tlsFiles.map(tlsFileWord).join(' '),
    tlsFileNames: tlsFiles.map((f) => f.staged).join(', '),
    portBinds: [],
  };
}

/**
 * The URLs a member's etcd listens on, as its manifest finally sets them (extraArgs may have replaced the
 * profile's): --listen-client-urls, --listen-peer-urls and --listen-metrics-urls in the kubeadm profile's command,
 * their ETCD_* variables in the tutorial profile's environment.
 */
export function memberListenUrls(member: Pick<Member, 'env' | 'command'>): string[] {
  const flags = ['listen-client-urls', 'listen-peer-urls', 'listen-metrics-urls'];
  const values = [
    ...member.command.flatMap((arg) => flags.filter((f) => arg.startsWith(`--${f}=`)).map((f) => arg.slice(f.length + 3))),
    ...member.env.filter((e) => flags.some((f) => e.name === `ETCD_${f.toUpperCase().replace(/-/g, '_')}`)).map((e) => e.value),
  ];
  return values.flatMap((v) => v.split(',')).map((u) => u.trim()).filter(Boolean);
}

/** One address etcd binds: an IP in its canonical text, or "any" for a wildcard or a name (whatever it resolves to). */
function bindAddress(host: string): string {
  const ip = canonicalIp(host);
  if (ipVersion(ip) === 0) return host === 'localhost' ? '127.0.0.1' : 'any';
  return ip === '0.0.0.0' || ip === '::' ? 'any' : ip;
}

/**
 * The listeners (ss's ADDRESS:PORT) that would keep etcd from binding ADDRESS (from bindAddress) on PORT, as Linux
 * judges a bind: the same address, or a wildcard that covers it. An IPv4 address is also taken by its IPv4-mapped
 * form on an IPv6 socket ([::ffff:a.b.c.d]) and by [::ffff:0.0.0.0]; `*` is an IPv6 wildcard socket that takes
 * IPv4 too, while [::] (IPV6_V6ONLY) takes IPv6 alone. A wildcard or a name of etcd's own clashes with anything on
 * the port: "any:PORT".
 */
export function bindConflicts(address: string, port: string): string[] {
  if (address === 'any') return [`any:${port}`];
  if (ipVersion(address) === 4) return [`${address}:${port}`, `[::ffff:${address}]:${port}`, `0.0.0.0:${port}`, `[::ffff:0.0.0.0]:${port}`, `*:${port}`];
  return [`[${address}]:${port}`, `[::]:${port}`, `*:${port}`];
}

/** Per port, where a member's etcd binds it (its listen URLs) and what would clash there. */
export function portBinds(name: string, listenUrls: readonly string[], ports: readonly string[]): PortBind[] {
  const binds = listenUrls.flatMap((text) => {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return [];
    }
    // unix:// and unixs:// listeners bind no port.
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return [];
    const port = parsed.port || (parsed.protocol === 'http:' ? '80' : '443');
    return [{ port, address: bindAddress(parsed.hostname.replace(/^\[(.*)\]$/, '$1')) }];
  });
  return ports.map((port) => {
    const addresses = [...new Set(binds.filter((b) => b.port === port).map((b) => b.address))];
    const anywhere = addresses.includes('any');
    return {
      key: `${name}:${port}`,
      port,
      addresses: anywhere ? 'every address' : addresses.length ? inEnglish(addresses) : 'no address (no listen URL has this port)',
      conflicts: (anywhere ? [`any:${port}`] : [...new Set(addresses.flatMap((a) => bindConflicts(a, port)))]).join(' '),
    };
  });
}

/**
 * Where verify.sh reads the member list on the master it reached, in order until one answers. First the tutorial's
 * check, the master's plain loopback listener (no certificate); but that asks only the master's own etcd, so when it
 * is down every other member's word would be lost: then every member's client URL, with the client certificate,
 * which is what verify.sh asks first when there is no plain loopback listener (and then the only try).
 */
export function memberListTries(localUrl: string, allClientUrls: string): Pick<Plan['verify'], 'memberListEndpoints' | 'memberListTls'> {
  const tries = [...(localUrl ? [{ endpoints: localUrl, tls: false }] : []), { endpoints: allClientUrls, tls: true }];
  return { memberListEndpoints: tries.map((t) => t.endpoints), memberListTls: tries.map((t) => (t.tls ? 'yes' : 'no')) };
}

/**
 * verify.sh's way to etcdctl, and what a master needs for it: the tool (exit 3 without it) and, for crictl, a running
 * etcd container to exec in (exit 4 without one: its etcd is down, and another master's will do). `docker run` starts
 * a container of its own, so any master with docker does.
 */
export function viaPlan(via: VerifyVia): Pick<Plan['verify'], 'via' | 'viaCrictl' | 'viaLocal' | 'tool' | 'toolCheck'> {
  const tool = via === 'local' ? '' : via;
  const toolCheck = !tool
    ? 'true'
    : via === 'crictl'
      ? `command -v crictl >/dev/null || exit 3; ids=$(${RUNNING_ETCD}) && [[ -n $ids ]] || exit 4`
      : `command -v ${tool} >/dev/null || exit 3`;
  return { via, viaCrictl: via === 'crictl', viaLocal: via === 'local', tool, toolCheck };
}

/** Words as a sentence lists them: "a", "a and b", "a, b and c". */
export function inEnglish(words: readonly string[]): string {
  return words.length < 2 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/**
 * Where verify.sh reads each member's readiness, as kubelet's readiness probe does: the path the version table gives
 * the probe, on the metrics listener. Empty in the tutorial profile, which has no metrics listener.
 */
export function readinessCheck(cluster: Cluster, rules: VersionRules | undefined): Plan['verify']['readiness'] {
  if (cluster.etcd.profile !== 'kubeadm' || !rules) return { host: '', port: '', path: '', url: '' };
  const { address, port } = cluster.etcd.metricsListener;
  const path = rules.probePaths.readiness;
  return { host: address, port: String(port), path, url: `${metricsUrl(cluster)}${path}` };
}

/** A Mermaid node label: Mermaid ends a quoted label at `"`, so it is written as an entity. */
export function mermaidLabel(lines: readonly string[]): string {
  return lines.map((line) => line.replace(/"/g, '#quot;')).join('<br/>');
}

export function timeSyncPlan(timeSync: Cluster['timeSync'], profile: Cluster['etcd']['profile']): TimeSyncPlan {
  const service = timeSyncService(profile, timeSync.service);
  const servers = timeSync.servers ?? [];
  const families = (['debian', 'rhel', 'suse'] as const).map((family): TimeSyncFamily => {
    const provision = PROVISIONS[service][family];
    const unit = provision.setups[provision.setups.length - 1]?.unit ?? service;
    return {
      managers: PACKAGE_MANAGERS.filter((m) => m.family === family).map((m) => m.command).join(' | '),
      service,
      installed: installedCheck(family, provision, unit),
      install: installCommands(family, provision.package, provision.companions),
      missing: provision.missing && `error: ${provision.missing}`,
      // Without servers only the unit matters: a setup that names the same unit as the one before it says nothing.
      setups: servers.length ? provision.setups : provision.setups.filter((setup, i, all) => i === 0 || setup.unit !== all[i - 1]?.unit),
    };
  });
  const managers = PACKAGE_MANAGERS.map((m) => m.command);
  return {
    service,
    // systemd-timesyncd stays off while another NTP client is installed: `timedatectl set-ntp true` asks for it
    // explicitly. Every other service is started through its unit when it is not running.
    enable: service === 'systemd-timesyncd' ? 'timedatectl set-ntp true' : '',
    maxSkewSeconds: String(timeSync.maxSkewSeconds),
    skewAdvice: skewAdvice(service),
    managers,
    noManager: `error: none of ${inEnglish(managers).replace(/ and /, ' or ')} is on this node: install ${service} and start it, then run ntp.sh again`,
    families,
    servers,
    dropIn: dropInText(service, servers),
    block: blockText(service, servers),
    blockBegin: BLOCK_BEGIN,
    blockEnd: BLOCK_END,
  };
}

/**
 * What to look at when a node's clock is off after ntp.sh installed the service: running ntp.sh again would change
 * nothing. Each service lists the time servers it reaches in its own way; reaching none usually means UDP port 123
 * is blocked on the way out. When every node is off by about the same, the operator's own clock is the odd one.
 */
export function skewAdvice(service: TimeSyncService): string {
  const sources: Record<TimeSyncService, string> = {
    ntp: '`ntpq -p` lists the time servers it polls (a * marks the one it follows)',
    chrony: '`chronyc sources` lists the time servers it polls (^* marks the one it follows) and `chronyc tracking` how far off it is',
    'systemd-timesyncd': '`timedatectl timesync-status` names the time server it uses and how far off it is',
  };
  return (
    `On the node, ${sources[service]}, and \`systemctl status ${service}\`${service === 'chrony' ? ' (chronyd on RHEL and SUSE)' : ''} whether the service runs. ` +
    'No server reached: let UDP port 123 out to them (firewall, security group). ' +
    "Every node off by about the same: this machine's clock is the one to fix."
  );
}

/**
 * Text safe inside a one-line comment of any file we write (shell, YAML, Markdown): a line break would end the
 * comment and make the rest code. The config's path comes from the command line, not from cluster.json.
 */
export function commentText(text: string): string {
  return commentSafe(text);
}

// ---------------------------------------------------------------------------------------------------------------
// Membership as code (issue 12). cluster.json's masters are the cluster's history as well as its members: the
// founding members (no joinedWith) bootstrap together, each with all the founding members as its initial cluster;
// a master with joinedWith joined a running cluster later; one with rejoinedWith was replaced; one marked removed
// has left. A manifest depends only on its own master's entry and on the founding set, which never changes, so
// adding, removing or replacing a member changes no other master's manifest, and no other member restarts.

/** What a member's manifest starts etcd with: the initial cluster it bootstraps or joins, and which of the two. */
export interface MemberStart {
  initialCluster: string;
  state: 'new' | 'existing';
}

/** The founding members: the masters without joinedWith, removed or replaced ones included (their names stay in the string). */
export function foundingMembers(masters: readonly Master[]): Master[] {
  return masters.filter((m) => !m.joinedWith);
}

/**
 * A founding member bootstraps with every founding member (ETCD_INITIAL_CLUSTER_STATE new). A master that joins, or
 * rejoins after its data was lost, starts with the members the cluster has at that moment plus itself (existing):
 * etcd compares a joining member's initial cluster with the live member list and refuses any difference.
 */
export function memberStart(cluster: Cluster, master: Master): MemberStart {
  const peers = (list: readonly Master[]) => initialCluster(list.map((m) => ({ name: m.name, peerUrl: peerUrl(cluster, m) })));
  const joinsWith = master.rejoinedWith ?? master.joinedWith;
  if (!joinsWith) return { initialCluster: peers(foundingMembers(cluster.masters)), state: 'new' };
  const others = joinsWith.flatMap((name) => cluster.masters.filter((m) => m.name === name));
  return { initialCluster: peers([...others, master]), state: 'existing' };
}

/** What members.sh compares with the live member list: every master cluster.json knows, index for index. */
export interface MembershipPlan {
  names: string[];
  peerUrls: string[];
  clientUrls: string[];
  /** founding | joins | rejoins | removed: what cluster.json says of each. */
  roles: string[];
  /** The members each joining (or rejoining) master names, space-separated; "" for the others. */
  joinsWith: string[];
  /** Whether this etcd has learners (`member add --learner`, `member promote`): 3.4 and later. */
  learners: boolean;
  /**
   * Per master, what members.sh checks before `member add` (issue 19, item 7): each certificate its etcd presents
   * (the shared one, or its own server and peer certificates) with its host and ip, as words FILE|OPTION|NAME for
   * `openssl x509 OPTION NAME`. A shared certificate made before the master joined lacks them, and its peers refuse it.
   */
  certificateChecks: string[];
}

export function membershipPlan(cluster: Cluster, learners: boolean, certificates?: CertificatePlan): MembershipPlan {
  const masters = cluster.masters;
  const presented = (name: string) =>
    (certificates?.certificates ?? []).filter((c) => c.role === 'shared' || (c.member === name && (c.role === 'server' || c.role === 'peer')));
  return {
    names: masters.map((m) => m.name),
    peerUrls: masters.map((m) => peerUrl(cluster, m)),
    clientUrls: masters.map((m) => url('https', m.host, cluster.etcd.clientPort)),
    roles: masters.map((m) => (m.removed ? 'removed' : m.rejoinedWith ? 'rejoins' : m.joinedWith ? 'joins' : 'founding')),
    joinsWith: masters.map((m) => (m.rejoinedWith ?? m.joinedWith ?? []).join(' ')),
    learners,
    certificateChecks: masters.map((m) =>
      presented(m.name)
        .flatMap((c) => [...new Set([m.host, m.ip])].map((name) => `${c.cert.fromOut}|${sanCheckOption(name)}|${name}`))
        .join(' '),
    ),
  };
}

export function plan(cluster: Cluster, context: PlanContext): Plan {
  const { etcd } = cluster;
  const initial = memberStart(cluster, foundingMembers(cluster.masters)[0] ?? cluster.masters[0]).initialCluster;
  // A removed master gets no manifest and is no member: every script works on the others.
  const current = cluster.masters.filter((m) => !m.removed);
  const fromOut = (file: string) => (posix.isAbsolute(file) ? file : posix.normalize(posix.join(context.configDirFromOut, file)));
  // The kubeadm profile also serves clients on the loopback address over TLS (kube-apiserver's usual endpoint), so the
  // certificate must cover it, as kubeadm's server certificate does.
  // So must it when the tutorial profile's loopback listener is HTTPS.
  const httpsLocal = etcd.profile !== 'kubeadm' && localListenUrl(cluster).startsWith('https:');
  const loopbacks = etcd.profile === 'kubeadm' ? current.map(loopbackFor) : httpsLocal ? [etcd.localListener.address] : [];
  const certificates = certificatePlan(cluster, context, loopbacks);
  const hostPorts = [etcd.clientPort, etcd.peerPort, ...(etcd.profile === 'kubeadm' ? [etcd.metricsListener.port] : [])].map(String);
  const members = current.map((m) => {
    const made = member(cluster, m, memberStart(cluster, m), certificates);
    return { ...made, portBinds: portBinds(made.name, memberListenUrls(made), hostPorts) };
  });
  const local = localClientUrl(cluster);
  const sans = [...new Set([...members.flatMap((m) => [m.host, m.ip]), ...loopbacks])];
  const tlsFile = (file: CertificateSpec['cert'], mode: string): TlsFile => ({
    fromOut: file.fromOut,
    staged: posix.basename(file.fromConfig),
    remote: remotePath(file, etcd.certDir),
    mode,
  });
  // verify.sh's identity: the shared certificate, or the health-check client (on the masters too, see memberTlsFiles).
  const client = certificates.healthcheckClient;
  const manifestName = 'etcd.manifest';
  const version = etcdVersion(etcd);
  const rules = version && versionRules(version);
  const ssh = cluster.transport.kind === 'ssh' ? cluster.transport : undefined;
  const nodes = [
    ...current.map((m): Node => ({ name: m.name, role: 'master', address: ssh ? (m.address ?? m.host) : m.name })),
    ...cluster.workers.map((w): Node => ({ name: w.name, role: 'worker', address: ssh ? (w.address ?? w.name) : w.name })),
  ];
  return {
    generatedBy: commentText(`Generated by etcd-bootstrap from ${context.configName} (npm run generate). Do not edit: edit ${context.configName} and generate again.`),
    members,
    memberCount: String(members.length),
    outDir: commentText(context.outDirFromConfig),
    nodes,
    nodeNames: nodes.map((n) => n.name),
    memberNames: members.map((m) => m.name),
    subjectAltNames: sans,
    subjectAltNameChecks: sans.map((name) => (ipVersion(name) ? '-checkip' : '-checkhost')),
    peerUrls: members.map((m) => m.peerUrl),
    clientUrls: members.map((m) => m.clientUrl),
    initialCluster: initial,
    restoreInitialCluster: initialCluster(members),
    manifestPartial: `manifest/${etcd.profile}`,
    etcd: {
      profile: etcd.profile,
      image: etcdImage(etcd),
      clusterToken: etcd.clusterToken,
      dataDir: etcd.dataDir,
      certDir: etcd.certDir,
      manifestDir: etcd.manifestDir,
      clientPort: String(etcd.clientPort),
      peerPort: String(etcd.peerPort),
      hostPorts,
      hostPortsText: inEnglish(hostPorts),
      localClientUrl: local,
      localListenUrl: localListenUrl(cluster),
    },
    kubeadm:
      etcd.profile === 'kubeadm' && rules
        ? {
            kubernetesVersion: KUBEADM.kubernetesVersion,
            etcdVersion: rules.version.text,
            priority: KUBEADM.priority,
            // staticpod.GetEtcdProbeEndpoint: the probes ask the metrics listener, over plain HTTP.
            probe: { ...rules.probePaths, host: etcd.metricsListener.address, port: String(etcd.metricsListener.port) },
          }
        : undefined,
    tls: { ca: tlsFile(certificates.ca, '0644'), cert: tlsFile(client.cert, '0644'), key: tlsFile(client.key, '0600') },
    certificates,
    apiserver: apiserverEtcdPlan(certificates, members.map((m) => m.clientUrl), etcd.certDir),
    manifest: {
      staged: manifestName,
      remote: posix.join(etcd.manifestDir, manifestName),
      mode: '0644',
      swap: posix.join(posix.dirname(etcd.manifestDir), `.${manifestName}.etcd-bootstrap`),
      aside: posix.join(posix.dirname(etcd.manifestDir), `${manifestName}.removed`),
    },
    transport: cluster.transport,
    transportPartial: `transport/${cluster.transport.kind}`,
    connection: connectionHeader(cluster.transport).map(commentText),
    ssh: ssh && {
      args: [
        // BatchMode: a script cannot answer a password or host-key prompt, so one must fail at once instead of hanging.
        '-o', 'BatchMode=yes',
        ...(ssh.user ? ['-l', ssh.user] : []),
        '-p', String(ssh.port),
        // The harmless options, then those cluster.json opted into as unsafe (src/ssh-options.ts). ssh keeps the
        // first value given for an option, so BatchMode=yes above cannot be undone by either list. The hop through a
        // jump host gets the same options: ssh -J would apply none of them to it.
        ...[...ssh.options, ...ssh.unsafeOptions].flatMap((option) => ['-o', option]),
        ...(ssh.jumpHost ? ['-o', `ProxyCommand=${proxyCommand(ssh.jumpHost, [...ssh.options, ...ssh.unsafeOptions], Boolean(ssh.identityFile))}`] : []),
      ],
      identityFromOut: ssh.identityFile ? fromOut(ssh.identityFile) : '',
      identityVariable: SSH_IDENTITY_VARIABLE,
    },
    timeSync: timeSyncPlan(cluster.timeSync, etcd.profile),
    verify: {
      ...memberListTries(local, members.map((m) => m.clientUrl).join(',')),
      allClientUrls: members.map((m) => m.clientUrl).join(','),
      ...viaPlan(verifyVia(etcd.profile, cluster.verify.via)),
      statusAndAlarms: etcd.profile === 'kubeadm',
      readiness: readinessCheck(cluster, rules || undefined),
    },
    etcdctlOnMaster: etcdctlOnMaster(cluster),
    backup: backupPlan(cluster, context),
    rolling: rollingPlan(),
    membership: membershipPlan(cluster, Boolean(rules && rules.learners), certificates),
    mermaid: {
      members: members.map((m, i) => ({ id: `m${i + 1}`, label: mermaidLabel([m.name, `peer ${m.peerUrl}`, `client ${m.clientUrl}`]) })),
    },
  };
}
