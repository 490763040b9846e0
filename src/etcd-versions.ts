// What differs between etcd versions, in one table: every choice the plan makes by etcd version is a row here, with
// the etcd fact behind it and where that fact is written down. The plan picks rows; templates place the result.
//
// The kubeadm profile follows kubeadm v1.33 (Kubernetes 1.33): cmd/kubeadm/app/phases/etcd/local.go (getEtcdCommand,
// GetEtcdPodSpec), cmd/kubeadm/app/util/staticpod/utils.go (ComponentPod, LivenessProbe, ReadinessProbe,
// StartupProbe, GetEtcdProbeEndpoint), cmd/kubeadm/app/util/arguments.go (ArgumentsToCommand) and
// cmd/kubeadm/app/constants/constants.go (DefaultEtcdVersion "3.5.21-0", SupportedEtcdVersion 1.30–1.33 →
// "3.5.21-0"). v1.33's local.go already switches to the etcd 3.6 flag names when the image is 3.6.0 or later; this
// table does the same, by etcd version rather than by kubeadm version.

/** A parsed etcd version: 3.5.21 from `v3.5.21`, `3.5.21` or Kubernetes' image tag `3.5.21-0`. */
export interface EtcdVersion {
  major: number;
  minor: number;
  patch: number;
  /** MAJOR.MINOR.PATCH, without a `v` or an image revision. */
  text: string;
}

/** One row of the table: from which etcd version on `value` holds, why, and where that is written down. */
export interface VersionRow<T> {
  /** The first etcd version the row applies to (the next row with a higher `from` ends it). */
  from: string;
  value: T;
  /** The etcd fact behind the row, in a sentence. */
  fact: string;
  /** Where the fact is written down. */
  source: string;
}

/** A flag as kubeadm's Arg: a name without dashes, and its value. */
export interface Flag {
  name: string;
  value: string;
}

/** The paths kubelet's three probes ask on the metrics listener. */
export interface ProbePaths {
  liveness: string;
  readiness: string;
  startup: string;
}

/** What an etcd image holds besides etcd: what the tutorial's `/bin/sh -c '… | /usr/bin/tee …'` command needs. */
export interface ImageContents {
  shell: boolean;
  tee: boolean;
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-(\d+))?$/;

/** `v3.5.21`, `3.5.21` and `3.5.21-0` (registry.k8s.io's tag: etcd version, then the image's revision). */
export function parseEtcdVersion(text: string): EtcdVersion | undefined {
  const match = VERSION.exec(text);
  if (!match) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
  return { major, minor, patch, text: `${major}.${minor}.${patch}` };
}

/** An image reference's repository (REGISTRY/PATH) and tag; the tag is undefined when the reference has none. */
export function imageParts(image: string): { repository: string; tag: string | undefined } {
  const withoutDigest = image.replace(/@sha256:[a-f0-9]+$/, '');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  // A colon before the last slash is a registry's port, not a tag.
  if (colon > slash) return { repository: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) };
  return { repository: withoutDigest, tag: undefined };
}

/** The etcd version an image's tag names, if it names one. */
export function versionFromImage(image: string): EtcdVersion | undefined {
  const { tag } = imageParts(image);
  return tag === undefined ? undefined : parseEtcdVersion(tag);
}

export function compareVersions(a: EtcdVersion, b: EtcdVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function mustParse(text: string): EtcdVersion {
  const version = parseEtcdVersion(text);
  if (!version) throw new Error(`not an etcd version: ${text}`);
  return version;
}

/** The row that holds for `version`: the last one whose `from` is not above it; undefined before the first. */
export function pick<T>(rows: readonly VersionRow<T>[], version: EtcdVersion): VersionRow<T> | undefined {
  let found: VersionRow<T> | undefined;
  for (const row of rows) if (compareVersions(mustParse(row.from), version) <= 0) found = row;
  return found;
}

const CHANGELOG = 'https://github.com/etcd-io/etcd/blob/main/CHANGELOG';
const UPGRADE_3_6 = 'https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/';

/** The etcd minor versions this table knows, oldest first. Anything else is refused: its rules are not written down. */
export const KNOWN_MINORS = ['3.3', '3.4', '3.5', '3.6', '3.7'] as const;

export function isKnownVersion(version: EtcdVersion): boolean {
  return (KNOWN_MINORS as readonly string[]).includes(`${version.major}.${version.minor}`);
}

/** The table. Rows of each choice are in version order. */
export const ETCD_VERSION_TABLE = {
  /** Where kubelet's probes ask. kubeadm asks /livez and /readyz (kubeadm issue 3039); older etcd has /health only. */
  probePaths: [
    {
      from: '3.3.0',
      value: { liveness: '/health', readiness: '/health', startup: '/health' },
      fact: 'etcd serves /health on every --listen-metrics-urls listener; it answers 200 only while the member has a leader and can commit',
      source: 'https://etcd.io/docs/v3.4/op-guide/monitoring/#health-check',
    },
    {
      from: '3.4.16',
      value: { liveness: '/health?exclude=NOSPACE', readiness: '/health', startup: '/health' },
      fact: '/health?exclude=NOSPACE leaves the NOSPACE alarm out, so a full database does not make kubelet restart a member that only needs compaction',
      source: `${CHANGELOG}/CHANGELOG-3.4.md#v3416-2021-05-11 (PR 12880, "exclude alarms from health check conditionally")`,
    },
    {
      from: '3.5.3',
      value: { liveness: '/health?exclude=NOSPACE&serializable=true', readiness: '/health', startup: '/health?serializable=false' },
      fact: '/health?serializable=true answers from the member alone, without a quorum read: liveness then restarts only a broken member, not every member of a cluster that lost quorum',
      source: `${CHANGELOG}/CHANGELOG-3.5.md#v353-2022-04-13 (PR 13706, "a better liveness probe for when etcd runs as a Kubernetes pod")`,
    },
    {
      from: '3.5.11',
      value: { liveness: '/livez', readiness: '/readyz', startup: '/readyz' },
      fact: '/livez and /readyz: liveness of the process, readiness to serve (kubeadm probes these)',
      source: `${CHANGELOG}/CHANGELOG-3.5.md#v3511-2023-12-07 (PR 17039, "Add livez/readyz HTTP endpoints")`,
    },
  ] satisfies readonly VersionRow<ProbePaths>[],

  /** kubeadm turns on the corruption check at start-up. */
  initialCorruptCheck: [
    {
      from: '3.3.0',
      value: { name: 'experimental-initial-corrupt-check', value: 'true' },
      fact: 'before serving, a member compares its data hash with its peers and refuses to start when they differ',
      source: `${CHANGELOG}/CHANGELOG-3.3.md (etcd --experimental-initial-corrupt-check)`,
    },
    {
      from: '3.6.0',
      value: { name: 'feature-gates', value: 'InitialCorruptCheck=true' },
      fact: 'etcd 3.6 turns the experimental flag into the InitialCorruptCheck feature gate',
      source: `${UPGRADE_3_6} ("equivalent flag for feature gate etcd --experimental-initial-corrupt-check=true")`,
    },
  ] satisfies readonly VersionRow<Flag | undefined>[],

  /** kubeadm sets a 5 s watch progress notification (the API server's consistent reads from its watch cache need it). */
  watchProgressNotifyInterval: [
    {
      from: '3.3.0',
      value: undefined,
      fact: 'the watch progress notification interval is fixed (10 minutes) and cannot be set',
      source: `${CHANGELOG}/CHANGELOG-3.4.md#v3411-2020-08-18 (the flag is added only in 3.4.11)`,
    },
    {
      from: '3.4.11',
      value: { name: 'experimental-watch-progress-notify-interval', value: '5s' },
      fact: 'etcd --experimental-watch-progress-notify-interval sets how often idle watches get a progress notification',
      source: `${CHANGELOG}/CHANGELOG-3.4.md#v3411-2020-08-18 (PR 12216)`,
    },
    {
      from: '3.6.0',
      value: { name: 'watch-progress-notify-interval', value: '5s' },
      fact: 'etcd 3.6 renames it --watch-progress-notify-interval (the experimental name is deprecated)',
      source: `${UPGRADE_3_6} ("etcd --experimental-watch-progress-notify-interval flag has been deprecated")`,
    },
  ] satisfies readonly VersionRow<Flag | undefined>[],

  /** Whether `etcdctl member add --learner` exists: kubeadm adds every joining member as a learner first. */
  learners: [
    {
      from: '3.3.0',
      value: false,
      fact: 'etcd 3.3 has no learners: a new member votes from the moment it is added',
      source: 'https://etcd.io/docs/v3.4/learning/design-learner/',
    },
    {
      from: '3.4.0',
      value: true,
      fact: 'etcd 3.4 adds learners (non-voting members), which kubeadm uses to join members one at a time',
      source: `${CHANGELOG}/CHANGELOG-3.4.md#v340-2019-08-30 ("Add Raft learner")`,
    },
  ] satisfies readonly VersionRow<boolean>[],

  /** Whether etcdctl speaks the v3 API without ETCDCTL_API=3 (`crictl exec` cannot set a variable for it). */
  etcdctlV3ByDefault: [
    {
      from: '3.3.0',
      value: false,
      fact: 'etcdctl speaks the v2 API unless ETCDCTL_API=3 is set',
      source: 'https://etcd.io/docs/v3.3/dev-guide/interacting_v3/',
    },
    {
      from: '3.4.0',
      value: true,
      fact: 'etcdctl speaks the v3 API by default',
      source: `${CHANGELOG}/CHANGELOG-3.4.md#v340-2019-08-30 ("ETCDCTL_API=3 etcdctl" is now the default)`,
    },
  ] satisfies readonly VersionRow<boolean>[],

  /** Whether etcd still accepts --experimental-* flags. */
  experimentalFlags: [
    {
      from: '3.3.0',
      value: true,
      fact: 'etcd accepts its --experimental-* flags (3.6 deprecates them in favour of plain names and feature gates)',
      source: UPGRADE_3_6,
    },
    {
      from: '3.7.0',
      value: false,
      fact: 'etcd 3.7 removes every deprecated --experimental-* flag and exits on one',
      source: `${CHANGELOG}/CHANGELOG-3.7.md ("Removed all deprecated experimental flags", PR 19959)`,
    },
  ] satisfies readonly VersionRow<boolean>[],
};

/** Every choice the table makes for one etcd version. */
export interface VersionRules {
  version: EtcdVersion;
  probePaths: ProbePaths;
  initialCorruptCheck: Flag | undefined;
  watchProgressNotifyInterval: Flag | undefined;
  learners: boolean;
  etcdctlV3ByDefault: boolean;
  experimentalFlags: boolean;
}

/** The rules for a version the table knows; undefined for any other. */
export function versionRules(version: EtcdVersion): VersionRules | undefined {
  if (!isKnownVersion(version)) return undefined;
  const value = <T>(rows: readonly VersionRow<T>[], name: string): T => {
    const row = pick(rows, version);
    if (!row) throw new Error(`the etcd version table has no ${name} row for ${version.text}`);
    return row.value;
  };
  const table = ETCD_VERSION_TABLE;
  return {
    version,
    probePaths: value<ProbePaths>(table.probePaths, 'probePaths'),
    initialCorruptCheck: value<Flag | undefined>(table.initialCorruptCheck, 'initialCorruptCheck'),
    watchProgressNotifyInterval: value<Flag | undefined>(table.watchProgressNotifyInterval, 'watchProgressNotifyInterval'),
    learners: value<boolean>(table.learners, 'learners'),
    etcdctlV3ByDefault: value<boolean>(table.etcdctlV3ByDefault, 'etcdctlV3ByDefault'),
    experimentalFlags: value<boolean>(table.experimentalFlags, 'experimentalFlags'),
  };
}

/** An image repository family and what its images hold, by etcd version. */
export interface ImageFamily {
  /** Repositories (REGISTRY/PATH, no tag) that publish the same images. */
  repositories: readonly string[];
  /** undefined where it is not known. */
  contents: readonly VersionRow<ImageContents | undefined>[];
}

/**
 * Which etcd images have the shell and `tee` the tutorial's command needs. An image not covered here is not
 * guessed at: the tutorial profile refuses it (the kubeadm profile needs neither).
 */
export const ETCD_IMAGES: readonly ImageFamily[] = [
  {
    // etcd's own images.
    repositories: ['quay.io/coreos/etcd', 'gcr.io/etcd-development/etcd'],
    contents: [
      {
        from: '3.3.0',
        value: { shell: true, tee: true },
        fact: "a Debian-based image with /bin/sh and coreutils' /usr/bin/tee: the tutorial's own manifest runs quay.io/coreos/etcd:v3.3.5 through them",
        source: `${CHANGELOG}/CHANGELOG-3.4.md#v3418-2021-10-15 (base image debian:buster, then debian:bullseye)`,
      },
      {
        from: '3.4.24',
        value: undefined,
        fact: 'later 3.4 images may have moved to a distroless base, as 3.5.7 did; not known here',
        source: `${CHANGELOG}/CHANGELOG-3.4.md`,
      },
      {
        from: '3.5.0',
        value: { shell: true, tee: true },
        fact: 'a Debian-based image (debian:bullseye) with /bin/sh and /usr/bin/tee',
        source: `${CHANGELOG}/CHANGELOG-3.5.md#v351-2021-10-15 (base image debian:bullseye-20210927)`,
      },
      {
        from: '3.5.7',
        value: { shell: false, tee: false },
        fact: 'distroless static-debian11: no shell, no tee, no busybox',
        source: `${CHANGELOG}/CHANGELOG-3.5.md#v357-2023-01-20 (PR 15016 "Use distroless base image", PR 15037 "removed dependency on busybox")`,
      },
    ],
  },
  {
    // Kubernetes' images, which kubeadm pins (tags like 3.5.21-0).
    repositories: ['registry.k8s.io/etcd', 'k8s.gcr.io/etcd'],
    contents: [
      {
        from: '3.4.0',
        value: { shell: true, tee: false },
        fact: 'gcr.io/distroless/static with a static bash copied to /bin/sh (for migrate-if-needed.sh), and no tee',
        source: 'https://github.com/kubernetes/kubernetes/blob/release-1.33/cluster/images/etcd/Dockerfile (bash-static as /bin/sh; RUNNERIMAGE gcr.io/distroless/static in its Makefile)',
      },
    ],
  },
];

/** What an image holds, where this table knows it. */
export function imageContents(image: string, version: EtcdVersion): ImageContents | undefined {
  const { repository } = imageParts(image);
  const family = ETCD_IMAGES.find((f) => f.repositories.includes(repository));
  return family ? pick(family.contents, version)?.value : undefined;
}

/** The Kubernetes release whose kubeadm the kubeadm profile matches, and what that kubeadm pins. */
export const KUBEADM = {
  kubernetesVersion: 'v1.33',
  /** constants.go: DefaultEtcdVersion = "3.5.21-0", on kubeadm's imageRepository registry.k8s.io. */
  defaultImage: 'registry.k8s.io/etcd:3.5.21-0',
  /** constants.go: EtcdMetricsPort = 2381; local.go listens for metrics on the loopback address. */
  metricsPort: 2381,
  /** staticpod.ComponentPod: the priority value of the system-node-critical class. */
  priority: '2000001000',
} as const;
