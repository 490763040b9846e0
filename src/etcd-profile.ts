// The etcd profiles: what each one runs, built as data (flags and environment), and the rules that refuse what
// cannot run. Pure functions: plan.ts places the results, load.ts reports the findings with their positions.
//
// "tutorial" is the tutorial's static pod; "kubeadm" is the stacked-etcd pod of kubeadm v1.33
// (cmd/kubeadm/app/phases/etcd/local.go), with the flags etcd-versions.ts chooses for the image's etcd version.
import { isIP } from 'node:net';
import type { Cluster, Master } from './cluster.generated.js';
import {
  KNOWN_MINORS,
  KUBEADM,
  imageContents,
  parseEtcdVersion,
  versionFromImage,
  versionRules,
  type EtcdVersion,
  type Flag,
  type VersionRules,
} from './etcd-versions.js';

export type Profile = Cluster['etcd']['profile'];
type EtcdConfig = Cluster['etcd'];

/** The image each profile runs when cluster.json names none. */
export const DEFAULT_IMAGES: Record<Profile, string> = {
  tutorial: 'quay.io/coreos/etcd:v3.3.5',
  kubeadm: KUBEADM.defaultImage,
};

export function etcdImage(etcd: Pick<EtcdConfig, 'profile' | 'image'>): string {
  return etcd.image ?? DEFAULT_IMAGES[etcd.profile];
}

/** The etcd version: etcd.version when given, else what the image's tag says; undefined when neither says. */
export function etcdVersion(etcd: Pick<EtcdConfig, 'profile' | 'image' | 'version'>): EtcdVersion | undefined {
  return etcd.version !== undefined ? parseEtcdVersion(etcd.version) : versionFromImage(etcdImage(etcd));
}

/** `quota-backend-bytes` → `ETCD_QUOTA_BACKEND_BYTES`: etcd reads every flag from this variable too. */
export function envNameOfFlag(flag: string): string {
  return `ETCD_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** `ETCD_QUOTA_BACKEND_BYTES` → `quota-backend-bytes`; undefined for a variable that is no etcd option. */
export function flagOfEnvName(name: string): string | undefined {
  return name.startsWith('ETCD_') && name.length > 5 ? name.slice(5).toLowerCase().replace(/_/g, '-') : undefined;
}

/**
 * kubeadm's ArgumentsToCommand (cmd/kubeadm/app/util/arguments.go): an override replaces every base argument of the
 * same name, and the result is sorted by name (then value), each as --name=value.
 */
export function argumentsToCommand(base: readonly Flag[], overrides: readonly Flag[]): string[] {
  const overridden = new Set(overrides.map((f) => f.name));
  const args = [...overrides, ...base.filter((f) => !overridden.has(f.name))];
  args.sort((a, b) => (a.name === b.name ? compareText(a.value, b.value) : compareText(a.name, b.name)));
  return args.map((f) => `--${f.name}=${f.value}`);
}

// Go's sort compares strings byte-wise; so does this (localeCompare would not).
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The flags of cluster.json's extraArgs, in its order. */
export function extraArgs(etcd: Pick<EtcdConfig, 'extraArgs'>): Flag[] {
  return Object.entries(etcd.extraArgs).map(([name, value]) => ({ name, value }));
}

/** What one member's kubeadm-profile container is given, besides the URLs the plan has already built. */
export interface KubeadmMemberInput {
  name: string;
  listenClientUrls: string;
  clientUrl: string;
  listenPeerUrl: string;
  peerUrl: string;
  initialCluster: string;
  /** new for a founding member, existing for one that joins a running cluster (src/plan.ts memberStart). */
  initialClusterState: 'new' | 'existing';
  metricsUrl: string;
  cert: string;
  key: string;
  /** The peer certificate and key: the server's own in the shared layout, the member's peer pair in the per-member one. */
  peerCert: string;
  peerKey: string;
  ca: string;
}

/** The loopback address of a master's address family, as kubeadm picks it for its local listener. */
export function loopbackFor(master: Pick<Master, 'ip'>): string {
  return isIP(master.ip) === 6 ? '::1' : '127.0.0.1';
}

/**
 * kubeadm's default arguments for a stacked member, in local.go's order, with the two that depend on the etcd
 * version taken from the table. A static bootstrap names every member in --initial-cluster (kubeadm's join names
 * the members so far and sets --initial-cluster-state=existing); the cluster token is the tutorial's safeguard.
 */
export function kubeadmBaseFlags(member: KubeadmMemberInput, etcd: Pick<EtcdConfig, 'dataDir' | 'clusterToken'>, rules: VersionRules): Flag[] {
  return [
    { name: 'name', value: member.name },
    ...(rules.initialCorruptCheck ? [rules.initialCorruptCheck] : []),
    { name: 'listen-client-urls', value: member.listenClientUrls },
    { name: 'advertise-client-urls', value: member.clientUrl },
    { name: 'listen-peer-urls', value: member.listenPeerUrl },
    { name: 'initial-advertise-peer-urls', value: member.peerUrl },
    { name: 'data-dir', value: etcd.dataDir },
    { name: 'cert-file', value: member.cert },
    { name: 'key-file', value: member.key },
    { name: 'trusted-ca-file', value: member.ca },
    { name: 'client-cert-auth', value: 'true' },
    { name: 'peer-cert-file', value: member.peerCert },
    { name: 'peer-key-file', value: member.peerKey },
    { name: 'peer-trusted-ca-file', value: member.ca },
    { name: 'peer-client-cert-auth', value: 'true' },
    { name: 'snapshot-count', value: '10000' },
    { name: 'listen-metrics-urls', value: member.metricsUrl },
    ...(rules.watchProgressNotifyInterval ? [rules.watchProgressNotifyInterval] : []),
    { name: 'initial-cluster', value: member.initialCluster },
    { name: 'initial-cluster-state', value: member.initialClusterState },
    { name: 'initial-cluster-token', value: etcd.clusterToken },
  ];
}

/** The container's command: `etcd` and the merged flags, no shell (so etcd is PID 1 and receives SIGTERM itself). */
export function kubeadmCommand(base: readonly Flag[], etcd: Pick<EtcdConfig, 'extraArgs'>): string[] {
  return ['etcd', ...argumentsToCommand(base, extraArgs(etcd))];
}

/** An `env:` entry of the etcd container. */
export interface EnvVar {
  name: string;
  value: string;
}

/** kubeadm's MergeKubeadmEnvVars: the extra variables, sorted by name. */
export function kubeadmEnv(etcd: Pick<EtcdConfig, 'extraEnv'>): EnvVar[] {
  return Object.entries(etcd.extraEnv)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => compareText(a.name, b.name));
}

/**
 * The tutorial profile runs etcd through a shell pipe and configures it by ETCD_* variables only, so an extra flag
 * becomes its variable: one the tutorial sets gets the new value in place, the others follow in cluster.json's
 * order, then the extra variables. With neither, the tutorial's list is returned unchanged.
 */
export function tutorialEnv(tutorial: readonly EnvVar[], etcd: Pick<EtcdConfig, 'extraArgs' | 'extraEnv'>): EnvVar[] {
  const fromArgs = extraArgs(etcd).map((f) => ({ name: envNameOfFlag(f.name), value: f.value }));
  const replaced = new Map(fromArgs.map((e) => [e.name, e.value]));
  const merged = tutorial.map((e) => ({ name: e.name, value: replaced.get(e.name) ?? e.value }));
  const known = new Set(tutorial.map((e) => e.name));
  return [...merged, ...fromArgs.filter((e) => !known.has(e.name)), ...Object.entries(etcd.extraEnv).map(([name, value]) => ({ name, value }))];
}

/** The names of the ETCD_* variables the tutorial's manifest sets, whatever the cluster. */
export const TUTORIAL_VARIABLES = [
  'ETCD_NAME', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE', 'ETCD_PEER_CERT_FILE', 'ETCD_PEER_KEY_FILE', 'ETCD_TRUSTED_CA_FILE',
  'ETCD_PEER_TRUSTED_CA_FILE', 'ETCD_PEER_CLIENT_CERT_AUTH', 'ETCD_CLIENT_CERT_AUTH', 'ETCD_INITIAL_ADVERTISE_PEER_URLS',
  'ETCD_ADVERTISE_CLIENT_URLS', 'ETCD_LISTEN_PEER_URLS', 'ETCD_LISTEN_CLIENT_URLS', 'ETCD_INITIAL_CLUSTER_TOKEN',
  'ETCD_INITIAL_CLUSTER', 'ETCD_INITIAL_CLUSTER_STATE', 'ETCD_DATA_DIR',
] as const;

// ---------------------------------------------------------------------------------------------------------------
// What cannot run, as findings for load.ts to locate.

/** A problem with a JSON pointer, as load.ts's Finding. */
export interface EtcdFinding {
  severity: 'error' | 'warning';
  pointer: string;
  message: string;
  atKey?: boolean;
}

const FLAG_NAME = /^[a-z0-9][a-z0-9-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Flags that cluster.json has a setting for, because more of the manifest than the flag depends on them. */
const OWN_SETTINGS: Record<string, string> = {
  'data-dir': 'etcd.dataDir (the data volume is mounted there)',
  'listen-metrics-urls': 'etcd.metricsListener (the probes ask it)',
};

const known = `${KNOWN_MINORS[0]} to ${KNOWN_MINORS[KNOWN_MINORS.length - 1]}`;

/**
 * The rules about the etcd image, version, profile and overrides. They also run on a document the schema refused,
 * so every value is checked for its type first.
 */
export function etcdFindings(raw: unknown, verify?: unknown): EtcdFinding[] {
  const findings: EtcdFinding[] = [];
  const error = (pointer: string, message: string, atKey = false) => findings.push({ severity: 'error', pointer, message, ...(atKey ? { atKey } : {}) });
  const etcd = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const map = (value: unknown): [string, unknown][] =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.entries(value) : [];
  const profile: Profile = etcd['profile'] === 'kubeadm' ? 'kubeadm' : 'tutorial';
  const explicitImage = text(etcd['image']);
  const image = explicitImage ?? DEFAULT_IMAGES[profile];
  const versionText = text(etcd['version']);
  const fromVersion = versionText !== undefined ? parseEtcdVersion(versionText) : undefined;
  const fromTag = versionFromImage(image);
  const imageAt = explicitImage !== undefined ? '/etcd/image' : '/etcd/profile';

  let version: EtcdVersion | undefined;
  if (versionText !== undefined && fromVersion && fromTag && fromVersion.text !== fromTag.text) {
    error('/etcd/version', `says ${fromVersion.text} but the image ${image} is ${fromTag.text}: remove etcd.version, or correct it or the image tag`);
  } else if (versionText !== undefined && !fromVersion) {
    // The schema's pattern reports the form.
  } else if (!fromVersion && !fromTag) {
    error(imageAt, `the image ${image} names no etcd version in its tag (e.g. v3.5.21 or 3.5.21-0): set etcd.version to the etcd version it runs (e.g. "3.5.21")`);
  } else {
    version = fromVersion ?? fromTag;
  }
  const versionAt = fromVersion ? '/etcd/version' : imageAt;
  const rules = version && versionRules(version);
  if (version && !rules) {
    error(versionAt, `etcd ${version.text} is not in etcd-bootstrap's version table (it knows ${known}), so which flags and probes it takes is not known: use an image of etcd ${known}`);
  }

  if (version && rules && profile === 'tutorial') {
    const contents = imageContents(image, version);
    const remedy = 'use "profile": "kubeadm", which runs etcd without a shell, or an image known to have both (quay.io/coreos/etcd up to v3.5.6)';
    if (!contents) {
      // A private mirror of a good image is common where nodes have no internet access: said, not refused.
      findings.push({
        severity: 'warning',
        pointer: imageAt,
        message: `the tutorial profile runs /bin/sh -c '/usr/local/bin/etcd 2>&1 | /usr/bin/tee …', and whether ${image} has both is not known (every member crash-loops without them): ${remedy}`,
      });
    } else if (!contents.shell || !contents.tee) {
      const missing = [contents.shell ? '' : '/bin/sh', contents.tee ? '' : '/usr/bin/tee'].filter(Boolean).join(' or ');
      error(imageAt, `${image} has no ${missing}, which the tutorial profile's command runs: every member would crash-loop; ${remedy}`);
    }
  }
  const via = verifyVia(profile, viaOf(verify));
  if (rules && via === 'crictl' && !rules.etcdctlV3ByDefault) {
    error(viaOf(verify) !== undefined ? '/verify/via' : versionAt, `verify.sh runs etcdctl in the etcd container with crictl exec, which sets no ETCDCTL_API=3, and the etcdctl of etcd ${rules.version.text} speaks the v2 API without it: set verify.via to "docker" or "local", or use etcd 3.4 or later`);
  }
  if (rules && profile === 'kubeadm' && !rules.learners) {
    error(versionAt, `the kubeadm profile needs etcd 3.4 or later (kubeadm adds members as learners, which etcd ${rules.version.text} does not have): use a 3.4 or later image`);
  }

  const args = map(etcd['extraArgs']);
  for (const [name] of args) {
    const at = `/etcd/extraArgs/${escapePointer(name)}`;
    if (!FLAG_NAME.test(name)) {
      error(at, `must be an etcd flag name without its dashes: lowercase letters, digits and '-' (e.g. quota-backend-bytes; found ${JSON.stringify(name)})`, true);
    } else if (name in OWN_SETTINGS) {
      error(at, `is set by ${OWN_SETTINGS[name]} in cluster.json, which the rest of the manifest follows too (its volumes, its probes): set it there`, true);
    } else if (rules && !rules.experimentalFlags && name.startsWith('experimental-')) {
      error(at, `etcd ${rules.version.text} has no --${name}: etcd 3.7 removed every --experimental-* flag (use its etcd 3.6 name, https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/)`, true);
    }
  }
  const argNames = new Set(args.map(([name]) => name));
  // The flags a profile passes, whatever the member: the kubeadm profile's own plus the extra ones.
  const flagsSet =
    profile === 'kubeadm'
      ? new Set([...(rules ? kubeadmFlagNames(rules) : []), ...argNames])
      : new Set([...TUTORIAL_VARIABLES.map((v) => flagOfEnvName(v) ?? ''), ...argNames]);
  for (const [name] of map(etcd['extraEnv'])) {
    const at = `/etcd/extraEnv/${escapePointer(name)}`;
    if (!ENV_NAME.test(name)) {
      error(at, `must be an environment variable name: letters, digits and '_', not starting with a digit (found ${JSON.stringify(name)})`, true);
      continue;
    }
    const flag = flagOfEnvName(name);
    if (flag === undefined || !flagsSet.has(flag)) continue;
    if (profile === 'kubeadm') {
      error(at, `sets etcd's --${flag}, which the manifest already passes as a flag: etcd refuses to start when one option is set both ways (since 3.4); set it in etcd.extraArgs as "${flag}" instead`, true);
    } else if (argNames.has(flag)) {
      error(at, `sets the option that etcd.extraArgs "${flag}" sets too (the tutorial profile passes that one as ${name}): give it once, in etcd.extraArgs`, true);
    } else {
      error(at, `the tutorial profile already sets ${name}, and kubelet refuses a variable given twice: set it in etcd.extraArgs as "${flag}" instead, which replaces the tutorial's value`, true);
    }
  }
  return findings;
}

export type VerifyVia = 'docker' | 'crictl' | 'local';

/** How verify.sh reaches etcdctl: as cluster.json says, else the profile's way (no Docker on current Kubernetes nodes). */
export function verifyVia(profile: Profile, via: VerifyVia | undefined): VerifyVia {
  return via ?? (profile === 'kubeadm' ? 'crictl' : 'docker');
}

function viaOf(verify: unknown): VerifyVia | undefined {
  const via = typeof verify === 'object' && verify !== null ? (verify as { via?: unknown }).via : undefined;
  return via === 'docker' || via === 'crictl' || via === 'local' ? via : undefined;
}

/** The names of the flags the kubeadm profile passes before extraArgs (the same for every member). */
export function kubeadmFlagNames(rules: VersionRules): string[] {
  const blank: KubeadmMemberInput = {
    name: '', listenClientUrls: '', clientUrl: '', listenPeerUrl: '', peerUrl: '', initialCluster: '', initialClusterState: 'new', metricsUrl: '', cert: '', key: '', peerCert: '', peerKey: '', ca: '',
  };
  return kubeadmBaseFlags(blank, { dataDir: '', clusterToken: '' }, rules).map((f) => f.name);
}

// ---------------------------------------------------------------------------------------------------------------
// Upgrades: the out/ being replaced says which etcd the masters run now.

/** A manifest of the out/ about to be replaced. */
export interface PreviousManifest {
  /** How messages name it (e.g. out/master1-etcd.manifest). */
  shown: string;
  content: string;
}

/** The image a generated manifest runs: its container's `image:` line (both profiles write one, unquoted or quoted). */
export function manifestImage(content: string): string | undefined {
  return /^ {4}image: "?([^"\s]+)"?$/m.exec(content)?.[1];
}

/**
 * etcd upgrades one minor version at a time (3.3 → 3.4 → 3.5): "To upgrade an existing etcd deployment to v3.5, the
 * running cluster must be v3.4 or greater" (https://etcd.io/docs/v3.5/upgrades/upgrade_3_5/, and the same rule in
 * each upgrade guide). Replacing manifests that run 3.3 with ones that run 3.5 skips a step: refused, with the way round.
 */
export function upgradeFinding(previous: readonly PreviousManifest[], etcd: Pick<EtcdConfig, 'profile' | 'image' | 'version'>): EtcdFinding | undefined {
  const next = etcdVersion(etcd);
  if (!next) return undefined;
  for (const manifest of previous) {
    const image = manifestImage(manifest.content);
    const running = image === undefined ? undefined : versionFromImage(image);
    if (!running || running.major !== next.major || next.minor <= running.minor + 1) continue;
    const between = `${running.major}.${running.minor + 1}`;
    return {
      severity: 'error',
      pointer: etcd.version !== undefined ? '/etcd/version' : etcd.image !== undefined ? '/etcd/image' : '/etcd/profile',
      message:
        `raises etcd from ${running.text} (${manifest.shown}) to ${next.text}, ${next.minor - running.minor} minor versions at once: etcd upgrades one ` +
        `minor version at a time (https://etcd.io/docs/v${next.major}.${next.minor}/upgrades/upgrade_${next.major}_${next.minor}/); ` +
        `generate with an etcd ${between} image first, roll it out to every master, then raise it again`,
    };
  }
  return undefined;
}
