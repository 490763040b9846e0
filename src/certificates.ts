// The certificates of a cluster, derived from cluster.json's `tls`: which ones certs.sh makes, what each is for,
// where it lies on the operator's machine and on a master, and what preflight.sh checks of it. Pure functions.
//
// The per-member layout is kubeadm's set (kubernetes/kubernetes, cmd/kubeadm/app/phases/certs/certlist.go:
// KubeadmCertEtcdCA, KubeadmCertEtcdServer, KubeadmCertEtcdPeer, KubeadmCertEtcdHealthcheck,
// KubeadmCertEtcdAPIClient): a CA of etcd's own; per member a server certificate (SANs from
// pkiutil.GetEtcdAltNames: localhost, 127.0.0.1, ::1, the node's name and address) and a peer certificate (the node's
// name and address), both serverAuth and clientAuth (etcd presents its server certificate as a client to itself, and
// its peer certificate as a client to the other members); a health-check client and kube-apiserver's client,
// clientAuth only. Lifetimes: kubeadm's, a year for a certificate and ten for the CA (cluster.json's tls.days,
// tls.caDays).
import { posix } from 'node:path';
import type { Cluster, Master } from './cluster.generated.js';
import { ipVersion } from './address.js';

export type TlsLayout = Cluster['tls']['layout'];

/** What a certificate is for, which decides its extended key usage and what preflight.sh checks. */
export type CertificateRole = 'shared' | 'server' | 'peer' | 'client';

/** A file on the operator's machine: as cluster.json names it (relative to it), and as out/'s scripts find it. */
export interface LocalFile {
  /** Relative to the directory holding cluster.json, as cluster.json would say it. */
  fromConfig: string;
  /** Relative to out/ (or absolute), for beside_script. */
  fromOut: string;
}

/** A file a master gets: where it comes from here, what it is called on the way, where it lands, with what mode. */
export interface TlsFile {
  /** Path relative to the out/ directory, so that a script finds it from its own location. */
  fromOut: string;
  /** The file name in the remote user's home directory after the copy (the tutorial's ~/ca.pem). */
  staged: string;
  /** Where it ends up on the master. */
  remote: string;
  /** Its mode there: 0600 for a key, 0644 for the rest. */
  mode: string;
}

/** One certificate certs.sh makes and preflight.sh checks. */
export interface CertificateSpec {
  /** How messages name it: "the certificate" (shared), "master1's peer certificate". */
  label: string;
  /** What it is for, in a sentence's words (out/README.md's table). */
  use: string;
  role: CertificateRole;
  /** The member it belongs to; "" for a client or the shared certificate. */
  member: string;
  /** Its subject's common name (kubeadm's: the node name for server and peer, fixed names for the clients). */
  commonName: string;
  /** openssl's subjectAltName value ("DNS:a,IP:b"), "" for none (a client certificate). */
  subjectAltName: string;
  /** preflight.sh's SAN checks: pairs of `openssl x509` option and name (-checkhost NAME, -checkip ADDRESS). */
  sanChecks: string[];
  /** openssl's extendedKeyUsage value. */
  extendedKeyUsage: string;
  /** `openssl verify -purpose` values it must pass: sslserver for what serves, sslclient for what connects. */
  purposes: string[];
  /** The same, comma-separated, as preflight.sh takes them. */
  purposeList: string;
  cert: LocalFile;
  key: LocalFile;
}

/** Everything about a cluster's certificates. */
export interface CertificatePlan {
  layout: TlsLayout;
  perMember: boolean;
  /** tls.dir as cluster.json says it, and from out/: where certs.sh writes. */
  dir: LocalFile;
  ca: LocalFile;
  caKey: LocalFile;
  /** Validity in days, as text. */
  days: string;
  caDays: string;
  certificates: CertificateSpec[];
  /** The client certificate kube-apiserver uses, and the one for health checks and verify.sh. */
  apiserverClient: CertificateSpec;
  healthcheckClient: CertificateSpec;
  /** Every private key cluster.json makes certs.sh write or distribute.sh read, relative to cluster.json. */
  keyFiles: string[];
}

/** kubeadm's common names for the two clients (cmd/kubeadm/app/constants). */
export const APISERVER_CLIENT_CN = 'kube-apiserver-etcd-client';
export const HEALTHCHECK_CLIENT_CN = 'kube-etcd-healthcheck-client';

/** The names a server certificate covers besides its member's own: kubeadm's GetEtcdAltNames. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'] as const;

/** `DNS:name` or `IP:address`, as openssl's subjectAltName wants each. */
export function subjectAltNameEntry(name: string): string {
  return ipVersion(name) ? `IP:${name}` : `DNS:${name}`;
}

/** The option `openssl x509` checks a name with: -checkip for an address, -checkhost for a DNS name. */
export function sanCheckOption(name: string): string {
  return ipVersion(name) ? '-checkip' : '-checkhost';
}

function uniqueNames(names: readonly string[]): string[] {
  return [...new Set(names)];
}

/** The key file beside a certificate: `x.pem` → `x-key.pem` (cfssl's naming, the tutorial's kubernetes-key.pem). */
export function keyBeside(cert: string): string {
  return cert.replace(/(\.pem)?$/, '-key.pem');
}

export interface CertificateContext {
  /** The directory holding cluster.json, relative to out/ ("..", usually). */
  configDirFromOut: string;
}

function localFile(path: string, context: CertificateContext): LocalFile {
  return {
    fromConfig: path,
    fromOut: posix.isAbsolute(path) ? path : posix.normalize(posix.join(context.configDirFromOut, path)),
  };
}

function spec(
  fields: Omit<CertificateSpec, 'subjectAltName' | 'sanChecks' | 'purposeList' | 'cert' | 'key'> & { names: readonly string[]; cert: string },
  context: CertificateContext,
): CertificateSpec {
  const { names, cert, ...rest } = fields;
  const unique = uniqueNames(names);
  return {
    ...rest,
    purposeList: rest.purposes.join(','),
    subjectAltName: unique.map(subjectAltNameEntry).join(','),
    sanChecks: unique.flatMap((name) => [sanCheckOption(name), name]),
    cert: localFile(cert, context),
    key: localFile(keyBeside(cert), context),
  };
}

/** What a member's server certificate covers: its host and ip, and the loopback names (kubeadm's GetEtcdAltNames). */
export function serverNames(master: Pick<Master, 'host' | 'ip'>): string[] {
  return uniqueNames([master.host, master.ip, ...LOOPBACK_NAMES]);
}

/** What a member's peer certificate covers: its host and ip (kubeadm's GetEtcdPeerAltNames). */
export function peerNames(master: Pick<Master, 'host' | 'ip'>): string[] {
  return uniqueNames([master.host, master.ip]);
}

/**
 * What the shared certificate covers: every master's host and ip, as the tutorial's kubernetes.pem, and the loopback
 * names when etcd serves TLS on a loopback address (`extraLoopbacks`: the kubeadm profile's listener).
 */
export function sharedNames(masters: readonly Pick<Master, 'host' | 'ip'>[], extraLoopbacks: readonly string[]): string[] {
  return uniqueNames([...masters.flatMap((m) => [m.host, m.ip]), ...extraLoopbacks]);
}

const BOTH = 'serverAuth,clientAuth';
const CLIENT = 'clientAuth';

/** The remote name of a per-member file in etcd.certDir: each master's own files carry its name. */
export function memberFileName(member: string, role: 'server' | 'peer'): string {
  return `${member}-${role}.pem`;
}

export function certificatePlan(cluster: Cluster, context: CertificateContext, sharedLoopbacks: readonly string[]): CertificatePlan {
  const { tls } = cluster;
  const perMember = tls.layout === 'per-member';
  const inDir = (name: string) => posix.join(tls.dir, name);
  const caPath = tls.ca ?? (perMember ? inDir('ca.pem') : 'ca.pem');
  const caKeyPath = tls.caKey ?? posix.join(posix.dirname(caPath), keyBeside(posix.basename(caPath)));
  const client = (label: string, use: string, commonName: string, file: string): CertificateSpec =>
    spec({ label, use, role: 'client', member: '', commonName, names: [], extendedKeyUsage: CLIENT, purposes: ['sslclient'], cert: inDir(file) }, context);
  const apiserverClient = client("kube-apiserver's client certificate", 'kube-apiserver connects to etcd with it (out/kube-apiserver-etcd.yaml)', APISERVER_CLIENT_CN, 'apiserver-etcd-client.pem');
  const healthcheckClient = client('the health-check client certificate', 'verify.sh and health checks connect with it, here and on every master', HEALTHCHECK_CLIENT_CN, 'healthcheck-client.pem');
  const certificates: CertificateSpec[] = perMember
    ? [
        ...cluster.masters.flatMap((m) => [
          spec({ label: `${m.name}'s server certificate`, use: `${m.name}'s etcd serves clients with it (and presents it when it connects to itself)`, role: 'server', member: m.name, commonName: m.name, names: serverNames(m), extendedKeyUsage: BOTH, purposes: ['sslserver', 'sslclient'], cert: inDir(memberFileName(m.name, 'server')) }, context),
          spec({ label: `${m.name}'s peer certificate`, use: `${m.name}'s etcd serves the other members with it, and presents it to them`, role: 'peer', member: m.name, commonName: m.name, names: peerNames(m), extendedKeyUsage: BOTH, purposes: ['sslserver', 'sslclient'], cert: inDir(memberFileName(m.name, 'peer')) }, context),
        ]),
        apiserverClient,
        healthcheckClient,
      ]
    : [
        {
          ...spec({ label: 'the certificate', use: 'every member serves clients and peers with it and presents it to them; kube-apiserver and verify.sh connect with it too', role: 'shared', member: '', commonName: 'kubernetes', names: sharedNames(cluster.masters, sharedLoopbacks), extendedKeyUsage: BOTH, purposes: ['sslserver', 'sslclient'], cert: tls.cert }, context),
          key: localFile(tls.key, context),
        },
      ];
  return {
    layout: tls.layout,
    perMember,
    dir: localFile(tls.dir, context),
    ca: localFile(caPath, context),
    caKey: localFile(caKeyPath, context),
    days: String(tls.days),
    caDays: String(tls.caDays),
    certificates,
    // The shared layout has one certificate for everything, kube-apiserver included (the tutorial's).
    apiserverClient: perMember ? apiserverClient : (certificates[0] as CertificateSpec),
    healthcheckClient: perMember ? healthcheckClient : (certificates[0] as CertificateSpec),
    keyFiles: uniqueNames([caKeyPath, ...certificates.map((c) => c.key.fromConfig)]),
  };
}

/**
 * What each master gets from distribute.sh, in order: in the shared layout the tutorial's three files (certificate,
 * key, CA); in the per-member layout its own server and peer certificates and keys, the health-check client that
 * verify.sh uses on the master (kubeadm puts it on every control-plane node), and the CA. Never another member's key.
 */
export function memberTlsFiles(certificates: CertificatePlan, member: string, certDir: string): TlsFile[] {
  const file = (local: LocalFile, mode: string, name = posix.basename(local.fromConfig)): TlsFile => ({
    fromOut: local.fromOut,
    staged: name,
    remote: posix.join(certDir, name),
    mode,
  });
  const pair = (c: CertificateSpec) => [file(c.cert, '0644'), file(c.key, '0600')];
  const ca = file(certificates.ca, '0644');
  if (!certificates.perMember) return [...pair(certificates.certificates[0] as CertificateSpec), ca];
  const own = certificates.certificates.filter((c) => c.member === member);
  return [...own.flatMap(pair), ...pair(certificates.healthcheckClient), ca];
}

/** Where a file of this machine lands in etcd.certDir: under its own name. */
export function remotePath(local: LocalFile, certDir: string): string {
  return posix.join(certDir, posix.basename(local.fromConfig));
}

/** The certificates a member serves clients and peers with: its own two, or the shared one for both. */
export function memberCertificates(certificates: CertificatePlan, member: string): { server: CertificateSpec; peer: CertificateSpec } {
  const own = (role: CertificateRole) => certificates.certificates.find((c) => c.member === member && c.role === role);
  const shared = certificates.certificates[0] as CertificateSpec;
  return { server: own('server') ?? shared, peer: own('peer') ?? shared };
}

/** distribute.sh's word for a file: `fromOut:staged:remote:mode`. Neither a local nor a remote path may hold ':'. */
export function tlsFileWord(file: TlsFile): string {
  return [file.fromOut, file.staged, file.remote, file.mode].join(':');
}

/** kube-apiserver's side of this etcd: its flags, and the same as kubeadm's ClusterConfiguration etcd.external. */
export interface ApiserverEtcdPlan {
  /** Every member's client URL: --etcd-servers and etcd.external.endpoints. */
  endpoints: string[];
  /** Where kube-apiserver reads the CA, its client certificate and key on a master (etcd.certDir). */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The same files on this machine, as cluster.json names them: what to copy there. */
  localCa: string;
  localCert: string;
  localKey: string;
  /** Whether the certificate is kube-apiserver's own (per-member) or etcd's shared one (the tutorial's). */
  ownCertificate: boolean;
  /** The flags, --name=value, in kube-apiserver's own order of the etcd flags. */
  flags: string[];
}

export function apiserverEtcdPlan(certificates: CertificatePlan, clientUrls: readonly string[], certDir: string): ApiserverEtcdPlan {
  const client = certificates.apiserverClient;
  const caFile = remotePath(certificates.ca, certDir);
  const certFile = remotePath(client.cert, certDir);
  const keyFile = remotePath(client.key, certDir);
  return {
    endpoints: [...clientUrls],
    caFile,
    certFile,
    keyFile,
    localCa: certificates.ca.fromConfig,
    localCert: client.cert.fromConfig,
    localKey: client.key.fromConfig,
    ownCertificate: certificates.perMember,
    flags: [`--etcd-servers=${clientUrls.join(',')}`, `--etcd-cafile=${caFile}`, `--etcd-certfile=${certFile}`, `--etcd-keyfile=${keyFile}`],
  };
}

/**
 * The warning generate gives, once, while the plain-HTTP loopback listener is on (the tutorial's): etcd does no
 * authentication there, so every local user and every hostNetwork pod on a master reads and writes all of etcd,
 * Kubernetes Secrets included. `localUrl` is that listener's URL, "" when there is none.
 */
export function plainListenerWarning(localUrl: string): { pointer: string; message: string } | undefined {
  if (!localUrl) return undefined;
  return {
    pointer: '/etcd/localListener/enabled',
    message:
      `etcd serves ${localUrl} in plain HTTP with no client certificate: any local user or hostNetwork pod on a master can read and write everything, /registry/secrets included. ` +
      'Make it HTTPS with client certificates ("localListener": {"tls": true}, as the kubeadm profile\'s is) or turn it off ("enabled": false) (out/README.md: Who can reach etcd)',
  };
}
