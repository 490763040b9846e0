// Time sync on any node: which package manager a node has, which package gives it each time-sync service, what the
// service's systemd unit is called and where it reads its NTP servers. Data and pure functions only: plan.ts picks
// the rows for cluster.json's service, templates/cluster/ntp.sh.hbs places them, and the node decides at run time
// which family it belongs to (ntp.sh looks for the package managers in PACKAGE_MANAGERS' order).
//
// Where each fact comes from:
// - Debian (bookworm): the packages themselves (`apt-get download chrony ntp ntpsec systemd-timesyncd`, `dpkg-deb -x`):
//   chrony 4.3's /etc/chrony/chrony.conf (written from /usr/share/chrony/chrony.conf) has `confdir /etc/chrony/conf.d`
//   and its unit is chrony.service; `ntp` is a transitional package that installs ntpsec, whose configuration is
//   /etc/ntpsec/ntp.conf and unit ntpsec.service (Alias=ntp.service); the classic ntp of bullseye and Ubuntu 22.04
//   reads /etc/ntp.conf and runs as ntp.service; systemd-timesyncd is a package of its own and reads
//   /etc/systemd/timesyncd.conf.d/*.conf (timesyncd.conf(5)). Debian's packages start their service on install.
// - RHEL 8 and later (Rocky, Alma, Fedora): chrony is the only NTP implementation; the ntp package is gone
//   (https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/8/html/configuring_basic_system_settings/using-chrony-to-configure-ntp).
//   chronyd reads /etc/chrony.conf, its compiled-in location (chrony.conf(5)), and runs as chronyd.service. RHEL builds
//   systemd without systemd-timesyncd. A package's service is enabled by preset on install but not started.
// - SUSE (SLES 15, openSUSE Leap 15): chrony replaced ntp (SLES 15 release notes), chronyd.service and /etc/chrony.conf
//   as on RHEL; systemd-timesyncd is part of the systemd package.
import type { Cluster } from './cluster.generated.js';

export type TimeSyncService = NonNullable<Cluster['timeSync']['service']>;
export type PackageFamily = 'debian' | 'rhel' | 'suse';

/** The package managers ntp.sh looks for on a node, in this order, and the family each one stands for. */
export const PACKAGE_MANAGERS: readonly { command: string; family: PackageFamily }[] = [
  { command: 'apt-get', family: 'debian' },
  { command: 'dnf', family: 'rhel' },
  // RHEL 7's; on RHEL 8 and later it is dnf under another name (and dnf is found first).
  { command: 'yum', family: 'rhel' },
  { command: 'zypper', family: 'suse' },
];

/** Where a service's servers go: a file of its own in a directory the service reads, or a marked block in a shared file. */
export type ServersKind = 'drop-in' | 'block';

/** One way a service is configured on a family; `when` (a shell condition) picks it over the ones before it. */
export interface ServiceSetup {
  unit: string;
  serversFile: string;
  serversKind: ServersKind;
  when?: string;
}

/** How one family gets one service. */
export interface Provision {
  /** The package that provides it, or "" where there is none to install (part of systemd, or not shipped at all). */
  package: string;
  /** Packages named with it where the node's package lists know them (see the Debian ntp row). */
  companions?: string[];
  /** Why the service cannot be had where `package` is "" and the node does not have it, with the remedy. */
  missing: string;
  /** The setups, the fallback first: the last whose `when` holds on the node wins. */
  setups: ServiceSetup[];
}

const CHRONY_REMEDY = 'set timeSync.service to "chrony" in cluster.json and generate again';
const OWN_FILE = 'etcd-bootstrap.conf';

/** Every service on every family. */
export const PROVISIONS: Record<TimeSyncService, Record<PackageFamily, Provision>> = {
  ntp: {
    debian: {
      package: 'ntp',
      // bookworm's `ntp` is a transitional package for ntpsec, which Conflicts: time-daemon, as systemd-timesyncd
      // (installed by default) provides. On one bookworm machine here `apt-get --simulate install ntp` failed
      // ("ntpsec : Conflicts: time-daemon … pkgProblemResolver::Resolve generated breaks"); on another apt resolved it
      // by removing systemd-timesyncd. Naming ntpsec too installs on both. Older releases have no ntpsec and install
      // the classic ntp alone.
      companions: ['ntpsec'],
      missing: '',
      setups: [
        { unit: 'ntp', serversFile: '/etc/ntp.conf', serversKind: 'block' },
        // bookworm and later: `ntp` installs ntpsec.
        { unit: 'ntpsec', serversFile: '/etc/ntpsec/ntp.conf', serversKind: 'block', when: '[[ -e /etc/ntpsec/ntp.conf ]]' },
      ],
    },
    rhel: {
      package: '',
      missing: `ntp is not packaged for RHEL 8 or later (nor Rocky, Alma or Fedora): chrony replaced it; ${CHRONY_REMEDY}`,
      setups: [{ unit: 'ntpd', serversFile: '/etc/ntp.conf', serversKind: 'block' }],
    },
    suse: {
      package: '',
      missing: `ntp is not packaged for SUSE Linux Enterprise 15 or openSUSE Leap 15: chrony replaced it; ${CHRONY_REMEDY}`,
      setups: [{ unit: 'ntpd', serversFile: '/etc/ntp.conf', serversKind: 'block' }],
    },
  },
  chrony: {
    debian: {
      package: 'chrony',
      missing: '',
      setups: [
        { unit: 'chrony', serversFile: '/etc/chrony/chrony.conf', serversKind: 'block' },
        // chrony 4.0 and later (bullseye on) read a directory; 3.x (buster) does not.
        { unit: 'chrony', serversFile: `/etc/chrony/conf.d/${OWN_FILE}`, serversKind: 'drop-in', when: "grep -qs '^confdir /etc/chrony/conf.d' /etc/chrony/chrony.conf" },
      ],
    },
    rhel: { package: 'chrony', missing: '', setups: [{ unit: 'chronyd', serversFile: '/etc/chrony.conf', serversKind: 'block' }] },
    suse: { package: 'chrony', missing: '', setups: [{ unit: 'chronyd', serversFile: '/etc/chrony.conf', serversKind: 'block' }] },
  },
  'systemd-timesyncd': {
    debian: {
      package: 'systemd-timesyncd',
      missing: '',
      setups: [{ unit: 'systemd-timesyncd', serversFile: `/etc/systemd/timesyncd.conf.d/${OWN_FILE}`, serversKind: 'drop-in' }],
    },
    rhel: {
      package: '',
      missing: `systemd-timesyncd is not on this node: RHEL and its rebuilds build systemd without it; ${CHRONY_REMEDY}`,
      setups: [{ unit: 'systemd-timesyncd', serversFile: `/etc/systemd/timesyncd.conf.d/${OWN_FILE}`, serversKind: 'drop-in' }],
    },
    suse: {
      package: '',
      missing: `systemd-timesyncd is not on this node, though SUSE's systemd package carries it; ${CHRONY_REMEDY}`,
      setups: [{ unit: 'systemd-timesyncd', serversFile: `/etc/systemd/timesyncd.conf.d/${OWN_FILE}`, serversKind: 'drop-in' }],
    },
  },
};

/** The service cluster.json names, else the profile's: the tutorial's ntp, or chrony, which every current distribution ships. */
export function timeSyncService(profile: Cluster['etcd']['profile'], service: TimeSyncService | undefined): TimeSyncService {
  return service ?? (profile === 'kubeadm' ? 'chrony' : 'ntp');
}

/** A shell condition that holds when the node has the service (its package installed, or its unit present). */
export function installedCheck(family: PackageFamily, provision: Provision, unit: string): string {
  if (!provision.package) return `systemctl cat ${unit} >/dev/null 2>&1`;
  // dpkg-query answers "install ok installed" only for a package that is fully installed (not just unpacked or removed
  // with its configuration left).
  return family === 'debian'
    ? `dpkg-query -W -f='\${Status}' ${provision.package} 2>/dev/null | grep -q 'install ok installed'`
    : rpmInstalled(provision.package);
}

/** rpm -q exits 1 for a package that is not installed. */
function rpmInstalled(pkg: string): string {
  return `rpm -q ${pkg} >/dev/null 2>&1`;
}

/**
 * zypper's exit statuses after `zypper install` that mean the package is installed (zypper(8), EXIT CODES, read in
 * zypper 1.14.42: "Codes below 100 denote an error, codes above 100 provide a specific information"): 100
 * ZYPPER_EXIT_INF_UPDATE_NEEDED and 101 ZYPPER_EXIT_INF_SEC_UPDATE_NEEDED (patches, security patches, are available),
 * 102 ZYPPER_EXIT_INF_REBOOT_NEEDED and 103 ZYPPER_EXIT_INF_RESTART_NEEDED ("returned after a successful
 * installation" of a patch that needs a reboot, or zypper itself run again). SUSE's Salt module counts the same four
 * as success.
 */
export const ZYPPER_INSTALLED = [100, 101, 102, 103] as const;

/**
 * 106 ZYPPER_EXIT_INF_REPOS_SKIPPED: "Some repository had to be disabled temporarily because it failed to refresh."
 * The install ran with the repositories left, so the package may or may not have been found: rpm -q decides, and a
 * node where it is installed carries on with a warning (the broken repository is the operator's to fix, not a reason
 * to leave the node without time sync). 104 (no provider) and 107 ZYPPER_EXIT_INF_RPM_SCRIPT_FAILED (a %post script
 * failed: "they may not work as expected") stay failures, like every code below 100.
 */
export const ZYPPER_REPOS_SKIPPED = 106;

/** The commands, run on the node as the login user, that install the package with the family's manager ($manager). */
export function installCommands(family: PackageFamily, pkg: string, companions: readonly string[] = []): string[] {
  if (!pkg) return [];
  switch (family) {
    // The tutorial runs `apt-get install ntp`, which stops at its confirmation prompt when nobody is at the keyboard:
    // -y and a noninteractive frontend let it finish unattended.
    case 'debian':
      if (!companions.length) return ['sudo apt-get update', `sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y ${pkg}`];
      return [
        'sudo apt-get update',
        `packages=(${pkg})`,
        ...companions.map((companion) => `if apt-cache show ${companion} >/dev/null 2>&1; then packages+=(${companion}); fi`),
        'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"',
      ];
    // dnf and yum refresh their metadata themselves; -y answers "Is this ok [y/N]".
    case 'rhel':
      return [`sudo "$manager" install -y ${pkg}`];
    // zypper's --non-interactive (a global option, before the command) takes the default answer to every question.
    case 'suse': {
      const skipped = `zypper skipped a repository that failed to refresh (exit status ${ZYPPER_REPOS_SKIPPED})`;
      return [
        'zypper_status=0',
        `sudo zypper --non-interactive install ${pkg} || zypper_status=$?`,
        'case $zypper_status in',
        '  0) ;;',
        `  ${ZYPPER_INSTALLED.join(' | ')}) echo "  zypper: exit status $zypper_status, information after a successful install (zypper(8), EXIT CODES)" ;;`,
        `  ${ZYPPER_REPOS_SKIPPED})`,
        `    if ${rpmInstalled(pkg)}; then echo '  warning: ${skipped}; ${pkg} is installed: check the repositories (zypper refresh)'`,
        `    else echo 'error: ${skipped} and ${pkg} is not installed: check the repositories (zypper refresh)' >&2; exit ${ZYPPER_REPOS_SKIPPED}; fi ;;`,
        '  *) exit "$zypper_status" ;;',
        'esac',
      ];
    }
  }
}

/** The lines that name the servers, in the service's own syntax. */
export function serverLines(service: TimeSyncService, servers: readonly string[]): string[] {
  if (service === 'systemd-timesyncd') return ['[Time]', `NTP=${servers.join(' ')}`];
  // iburst: four quick requests at start, so a node follows a server within seconds instead of minutes.
  const lines = servers.map((server) => `server ${server} iburst`);
  // Debian's ntpsec.conf says `tos minclock 4 minsane 3`: with fewer than three sources answering, ntpd leaves the
  // clock undisciplined ("If fewer than this number are available, the clock is undisciplined and allowed to run
  // free", ntpsec's ntp.conf(5), minsane). A site that names one or two servers of its own and reaches no pool would
  // never be synchronised: a later tos line sets it back to ntpd's default, 1.
  if (service === 'ntp' && servers.length < 3) lines.push('tos minsane 1');
  return lines;
}

export const BLOCK_BEGIN = '# BEGIN etcd-bootstrap: timeSync.servers from cluster.json';
export const BLOCK_END = '# END etcd-bootstrap: timeSync.servers';

/** The whole content of a drop-in file that names the servers. */
export function dropInText(service: TimeSyncService, servers: readonly string[]): string {
  return [`# Written by etcd-bootstrap's ntp.sh: timeSync.servers from cluster.json.`, ...serverLines(service, servers)].join('\n') + '\n';
}

/** The marked block that names the servers in a shared configuration file; ntp.sh replaces it whole on each run. */
export function blockText(service: TimeSyncService, servers: readonly string[]): string {
  return [BLOCK_BEGIN, ...serverLines(service, servers), BLOCK_END].join('\n') + '\n';
}
