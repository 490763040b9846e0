/* eslint-disable */
// Generated from schema/cluster.schema.json by `npm run types`; do not edit.
// Properties with a schema default are required here: src/load.ts fills them in before anyone reads them.


/**
 * An RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters. It is the etcd member name and the name the transport reaches the node by (the Vagrant machine name).
 */
export type NodeName = string
/**
 * How the scripts in out/ reach the nodes. `kind` picks one; each kind has its own settings.
 */
export type Transport = (VagrantTransport | SshTransport)

/**
 * One etcd cluster run as kubelet static pods on the masters of a hand-built Kubernetes control plane. Every default is the value of the tutorial this tool starts from (Bootstrapping the etcd Cluster).
 */
export interface Cluster {
/**
 * Path or URL of this schema, so that an editor completes and explains cluster.json.
 */
$schema?: string
/**
 * The Kubernetes masters. Each runs one etcd member as a static pod. etcd advises an odd number, at most seven; more than 15 are refused (every write waits for a majority, and every manifest lists every member).
 * 
 * @minItems 1
 * @maxItems 15
 */
masters: [Master]|[Master, Master]|[Master, Master, Master]|[Master, Master, Master, Master]|[Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master]|[Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master, Master]
/**
 * The Kubernetes workers. They run no etcd; they only get time sync (ntp.sh).
 */
workers: Worker[]
etcd: Etcd
tls: Tls
transport: Transport
timeSync: TimeSync
verify: Verify
backup: Backup
}
/**
 * One master: a node that runs an etcd member.
 */
export interface Master {
name: NodeName
/**
 * The IPv4 or IPv6 address this master's etcd listens on for peers and clients (the tutorial reads it with `ip -4 addr show dev eth1`).
 */
ip: string
/**
 * The DNS name or IP address that peers and clients use to reach this master; it goes into the advertised peer and client URLs (the tutorial's masterN.node.local.consul).
 */
host: string
/**
 * The address the ssh transport connects to: a DNS name or IP address. When absent: the master's host (a worker's name). The vagrant transport reaches every node by its name and ignores it.
 */
address?: string
/**
 * Membership: this master joins a cluster that is already running, instead of being bootstrapped with it. List the other members the cluster has at the moment it is added, by name (etcd checks a joining member's initial cluster against the live one). Its manifest starts etcd with initial-cluster-state existing and these members plus itself as the initial cluster, so adding it changes no other master's manifest; out/members.sh adds it (etcdctl member add --learner, then member promote). Keep it after the join: the manifest must stay the same. Absent: a founding member, bootstrapped together with the other masters that have no joinedWith. A founding member whose data is lost is replaced by giving it joinedWith.
 * 
 * @minItems 1
 */
joinedWith?: [NodeName, ...(NodeName)[]]
/**
 * Membership: this master's member is replaced (its data is lost: a dead disk, a wiped data directory): out/members.sh --apply removes it, renames its data directory aside, and adds it again under the same name with an empty one. List the other members the cluster has at that moment, by name. Its manifest then starts etcd with initial-cluster-state existing and these members plus itself; the other masters' manifests do not change (a founding member stays one for them). Keep it afterwards: the manifest must stay the same.
 * 
 * @minItems 1
 */
rejoinedWith?: [NodeName, ...(NodeName)[]]
/**
 * Membership: true when this master leaves the cluster (out/members.sh --apply runs etcdctl member remove and moves its manifest out of the manifest directory) or has left it. It stays listed so that the other manifests, which name it in their initial cluster, keep their bytes; it gets no manifest.
 */
removed?: boolean
}
/**
 * One worker: a node that only gets time sync.
 */
export interface Worker {
name: NodeName
/**
 * The address the ssh transport connects to: a DNS name or IP address. When absent: the master's host (a worker's name). The vagrant transport reaches every node by its name and ignores it.
 */
address?: string
}
/**
 * How each etcd member is configured. Defaults are the tutorial's.
 */
export interface Etcd {
/**
 * What the manifests look like. "tutorial": the tutorial's static pod, byte for byte (etcd through /bin/sh and tee, ETCD_* variables, a TCP liveness probe). "kubeadm": the stacked-etcd static pod kubeadm v1.33 writes (etcd with --flags and no shell, an HTTPS loopback listener, probes on a metrics listener, system-node-critical priority, RuntimeDefault seccomp), with flags chosen for the etcd version.
 */
profile: ("tutorial" | "kubeadm")
/**
 * The container image the static pod runs; it must contain /usr/local/bin/etcd and /usr/local/bin/etcdctl. The etcd version is read from its tag (v3.5.21, 3.5.21-0, 3.6.4), else from etcd.version. When absent: the profile's image, quay.io/coreos/etcd:v3.3.5 for "tutorial", registry.k8s.io/etcd:3.5.21-0 (kubeadm v1.33's) for "kubeadm".
 */
image?: string
/**
 * The etcd version the image runs, MAJOR.MINOR.PATCH, for an image whose tag says nothing (a digest, a private tag). When the tag names a version too, the two must agree.
 */
version?: string
/**
 * The port etcd serves clients on (ETCD_LISTEN_CLIENT_URLS, ETCD_ADVERTISE_CLIENT_URLS).
 */
clientPort: number
/**
 * The port etcd members talk to each other on (ETCD_LISTEN_PEER_URLS, ETCD_INITIAL_ADVERTISE_PEER_URLS).
 */
peerPort: number
/**
 * ETCD_INITIAL_CLUSTER_TOKEN: a name unique to this cluster, so that members of two clusters never join each other.
 */
clusterToken: string
/**
 * ETCD_DATA_DIR on each master, mounted into the pod from the host.
 */
dataDir: string
/**
 * The directory on each master that holds the CA, certificate and key, mounted into the pod at the same path.
 */
certDir: string
/**
 * The kubelet's static-pod manifest directory on each master (kubelet --pod-manifest-path).
 */
manifestDir: string
localListener: LocalListener
metricsListener: MetricsListener
/**
 * Extra etcd flags, by name without the dashes, each with its value as a string (e.g. {"quota-backend-bytes": "8589934592"}), as kubeadm's etcd.local.extraArgs: one the profile sets is replaced, the others are added. The tutorial profile passes them as ETCD_* variables.
 */
extraArgs: {
[k: string]: string
}
/**
 * Extra environment variables of the etcd container, by name (e.g. {"GOMEMLIMIT": "2GiB"}), as kubeadm's etcd.local.extraEnvs. An ETCD_* variable for an option that is also a flag is refused: etcd exits on that conflict.
 */
extraEnv: {
[k: string]: string
}
}
/**
 * The client listener on the loopback address: the tutorial's is plain HTTP (http://127.0.0.1:2379), which any local user or hostNetwork pod can read and write through, with no certificate; "tls": true makes it HTTPS with client certificates, as the kubeadm profile's always is. The liveness probe and verify.sh use it. Turn it off to serve clients only on the master's ip.
 */
export interface LocalListener {
/**
 * Whether etcd also listens for plain-HTTP clients on the loopback address.
 */
enabled: boolean
/**
 * Serve the loopback listener over HTTPS, asking for a client certificate signed by the CA (the kubeadm profile's way), instead of plain HTTP. The server certificate must then cover the loopback address (certs.sh's does).
 */
tls: boolean
/**
 * The loopback address to listen on: 127.0.0.1, or ::1 on an IPv6-only master.
 */
address: ("127.0.0.1" | "::1")
/**
 * The port of the loopback listener; when absent, the client port.
 */
port?: number
}
/**
 * The kubeadm profile's plain-HTTP listener for /metrics and the health endpoints (etcd --listen-metrics-urls), which kubelet's probes ask. The tutorial profile has none.
 */
export interface MetricsListener {
/**
 * The address to listen on: 127.0.0.1 (kubeadm's), or ::1 on an IPv6-only master.
 */
address: ("127.0.0.1" | "::1")
/**
 * The port (kubeadm's is 2381).
 */
port: number
}
/**
 * The certificates: which layout, where certs.sh writes them on the operator's machine, and the files distribute.sh copies to the masters. Paths are relative to cluster.json. "shared" (the default, the tutorial's): one certificate (tls.cert) is every member's server, peer and client certificate, and any certificate the CA signed is a full etcd client. "per-member": a dedicated etcd CA signs, per master, a server and a peer certificate, plus one client certificate for kube-apiserver and one for health checks (kubeadm's set); each master gets only its own keys.
 */
export interface Tls {
/**
 * "shared": the tutorial's one certificate for everything (tls.ca, tls.cert, tls.key). "per-member": per master a server certificate (SANs: its host and ip, localhost, 127.0.0.1, ::1) and a peer certificate (its host and ip), and client certificates for kube-apiserver and for health checks, all in tls.dir, signed by the CA in tls.ca.
 */
layout: ("shared" | "per-member")
/**
 * Where certs.sh writes the per-member layout's certificates and keys (and the CA, unless tls.ca names one). Keep it outside out/ and out of git: the project's .gitignore lists pki/.
 */
dir: string
/**
 * The etcd CA certificate that signed every certificate (ETCD_TRUSTED_CA_FILE, ETCD_PEER_TRUSTED_CA_FILE; --trusted-ca-file). etcd accepts every client certificate this CA signed: give etcd a CA of its own. certs.sh makes it when absent; an existing one may be named here, with tls.caKey. When absent: ca.pem (shared), DIR/ca.pem (per-member).
 */
ca?: string
/**
 * The shared layout's certificate: each member serves it and presents it to its peers and as a client (ETCD_CERT_FILE, ETCD_PEER_CERT_FILE). Not used by the per-member layout.
 */
cert: string
/**
 * The shared certificate's private key (ETCD_KEY_FILE, ETCD_PEER_KEY_FILE). It is copied to the masters with mode 0600 and never into out/. Not used by the per-member layout.
 */
key: string
/**
 * The CA's private key, which certs.sh signs with; it never leaves this machine. When absent: ca-key.pem beside tls.ca (cfssl's name).
 */
caKey?: string
/**
 * How many days certs.sh makes a certificate valid for (kubeadm's: 365). `certs.sh --renew` re-issues those that expire within 30 days.
 */
days: number
/**
 * How many days a CA that certs.sh makes is valid for (kubeadm's: 3650).
 */
caDays: number
}
/**
 * The tutorial's: `vagrant ssh NAME` and `vagrant scp` (the vagrant-scp plugin), run from the Vagrant project directory.
 */
export interface VagrantTransport {
/**
 * Which transport.
 */
kind: "vagrant"
}
/**
 * Plain OpenSSH: `ssh` to each node's address (masters[].address, else its host), as a user who may run sudo without a password.
 */
export interface SshTransport {
/**
 * Which transport.
 */
kind: "ssh"
/**
 * The remote user (ssh -l). When absent: ssh's own default (your ~/.ssh/config, else your local user name).
 */
user?: string
/**
 * The ssh port (ssh -p).
 */
port: number
/**
 * The private key ssh authenticates with (ssh -i), relative to cluster.json. When absent: ssh's defaults and your agent.
 */
identityFile?: string
/**
 * A bastion to connect through (ssh -J): [user@]host[:port].
 */
jumpHost?: string
/**
 * Extra ssh options, each as for ssh -o, from the list known to be harmless: ConnectTimeout, ConnectionAttempts, ServerAliveInterval, ServerAliveCountMax, TCPKeepAlive, Compression, IdentitiesOnly, LogLevel, AddressFamily, StrictHostKeyChecking=yes|accept-new, UserKnownHostsFile=~/.ssh/known_hosts… (e.g. StrictHostKeyChecking=accept-new). Any other option goes in unsafeOptions.
 */
options: string[]
/**
 * UNSAFE: ssh options outside the harmless list, each as for ssh -o, passed after `options`. These can make ssh run commands on your machine (ProxyCommand, LocalCommand, KnownHostsCommand) or weaken host-key checking (StrictHostKeyChecking=no); every script names them in its header. Review a change here as you would a change to the scripts.
 */
unsafeOptions: string[]
}
/**
 * How ntp.sh keeps the nodes' clocks right, and how far a node's clock may be from the operator's before ntp.sh and preflight.sh fail. A clock that stopped (a suspended VM) makes valid certificates look not yet valid.
 */
export interface TimeSync {
/**
 * The time-sync daemon ntp.sh installs with each node's package manager (apt-get, dnf, yum or zypper): ntp, chrony or systemd-timesyncd. A node that already has it installed keeps it as it is. When absent: ntp in the tutorial profile (the tutorial's), chrony in the kubeadm profile (the one every current distribution ships; RHEL 8 and later and SUSE 15 have no ntp).
 */
service?: ("ntp" | "chrony" | "systemd-timesyncd")
/**
 * The NTP servers every node follows, for a site without internet access (e.g. ["ntp1.example.com", "10.0.0.1"]). ntp.sh writes them into the service's own configuration (a file of its own where the service reads a directory of them, else a marked block in its configuration file) and restarts the service only when that changed. The distribution's own servers stay listed; unreachable ones are ignored. When absent, ntp.sh leaves each service's servers as they are.
 * 
 * @maxItems 16
 */
servers?: []|[string]|[string, string]|[string, string, string]|[string, string, string, string]|[string, string, string, string, string]|[string, string, string, string, string, string]|[string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string, string, string, string, string, string, string, string]|[string, string, string, string, string, string, string, string, string, string, string, string, string, string, string, string]
/**
 * The largest difference, in seconds, allowed between a node's clock and the operator's. etcd warns about clock drift from one second (its peers' time difference alarm).
 */
maxSkewSeconds: number
}
/**
 * How out/verify.sh reaches etcdctl.
 */
export interface Verify {
/**
 * "docker": `docker run` the etcd image on a master (the tutorial's way); "crictl": exec etcdctl in the running etcd container on a master (Kubernetes 1.24 and later have no Docker); "local": this machine's etcdctl with the client certificate, against every member's client URL (as verify.sh --local). When absent: "docker" in the tutorial profile, "crictl" in the kubeadm profile.
 */
via?: ("docker" | "crictl" | "local")
}
/**
 * How backup.sh takes snapshots and where it keeps them, and the schedule of the systemd timer it comes with (out/etcd-backup.timer). restore.sh reads none of it: it restores the snapshot it is given.
 */
export interface Backup {
/**
 * Where the snapshots are kept: "operator" brings each one to this machine, into `dir`; "master" keeps it on the master it was taken on, in `masterDir` (a lost master loses its snapshots with it).
 */
where: ("operator" | "master")
/**
 * The directory on this machine that holds the snapshots when `where` is "operator", relative to cluster.json.
 */
dir: string
/**
 * The directory on the master that holds the snapshots when `where` is "master".
 */
masterDir: string
/**
 * How many snapshots to keep: after each good snapshot, the oldest beyond this many are removed with their digests. The newest good one is never removed.
 */
keep: number
/**
 * When the systemd timer runs backup.sh: a systemd calendar event, as OnCalendar= takes it (man systemd.time, CALENDAR EVENTS), checked by generate as systemd 252 reads it. Either a shorthand (minutely, hourly, daily, weekly, monthly, yearly, annually, quarterly, semiannually), or [WEEKDAYS] [DATE] [TIME] [UTC]: weekdays as Mon..Fri or Sat,Sun (names in full or in three letters); the date YYYY-MM-DD or MM-DD and the time hh:mm or hh:mm:ss, each field *, a number, a list (1,15), a range (1..5) or a repetition (0/15, 1..20/5), and '~' before the day to count back from the month's last day (*-02~01). A few forms systemd also reads are refused here, each message naming what to write instead: a time zone other than UTC (what it means depends on the tz database of the machine that runs the timer; no zone is that machine's local time), two-digit years (systemd reads 25 as 2025: write 2025), fractional seconds, @SECONDS timestamps, weekday ranges written with '-' (write Mon..Fri), a weekday list ending in ',', a list of days after '~' (systemd checks each further one against a range 3 days shorter: give one day or a range), and the undocumented spellings anually, biannually, bi-annually and semi-annually. One that can never elapse again (no real date, such as *-02-30, or only dates in the past) is accepted, as systemd accepts it, with a warning: the timer would never run. E.g. daily, Mon..Fri *-*-* 02:30 or *-*-* 02:30:00 UTC.
 */
schedule: string
/**
 * The absolute path of this out/ directory on the machine whose systemd runs the timer: the service runs backup.sh from there (systemd needs an absolute path).
 */
timerOutDir: string
}
