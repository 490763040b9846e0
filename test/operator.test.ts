// What an operator gets from every script in out/, run for real against the stand-in transports
// (test/support/transport.ts): --help, usage errors, --only, --dry-run; the clock check and the time-sync service;
// preflight.sh's certificate and node checks, each failure with its advice; and the ssh transport end to end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { assertBlocks, assertSummary, parseOutput } from './support/output.js';
import {
  MASTERS, NODES, TLS, WORKERS, callLines, calls, clearLogs, dummy, hostsSnapshot, makeCertificates, remoteLog, runScript, vagrantCall, withWorld,
  type ClusterDoc, type Run, type World,
} from './support/transport.js';

const SCRIPTS = ['ntp.sh', 'distribute.sh', 'preflight.sh', 'verify.sh'];
const sorted = (values: string[]) => [...values].sort();
const list = (path: string) => (existsSync(path) ? readdirSync(path).sort() : []);

/** No transport call, no remote command: the stand-ins' logs are empty. */
function assertUntouched(world: World, run: Run): void {
  assert.equal(callLines(calls(world)), [], `no transport call was made:\n${run.shown}`);
  assert.equal(remoteLog(world), [], 'no command ran on any host');
}

// ---------------------------------------------------------------------------------------------------------------
// Options: --help, usage errors, --only

withWorld('every script: --help and -h exit 0 and print Usage on stdout; an unknown option, a bad --jobs or a bare --only exit 2 with the usage on stderr', (world) => {
  for (const script of SCRIPTS) {
    for (const flag of ['--help', '-h']) {
      const run = runScript(world, script, {}, [flag]);
      assert.is(run.status, 0, `${script} ${flag}:\n${run.shown}`);
      assert.ok(run.stdout.startsWith(`Usage: ${script} `), `${script} ${flag} prints its usage first:\n${run.shown}`);
      const options = script === 'verify.sh' ? ['--dry-run', '--only', '--help'] : ['--dry-run', '--only', '--jobs', '--help'];
      for (const option of options) assert.ok(run.stdout.includes(option), `${script} ${flag} explains ${option}`);
      assert.is(run.stderr, '', `${script} ${flag}: nothing on stderr`);
      // The usage line and the option list name an --only value with the same word.
      const usage = run.stdout.split('\n')[0]!;
      assert.ok(usage.includes('[--only HOST[,HOST…]]'), `${script}: the usage line says --only HOST[,HOST…]:\n${usage}`);
      assert.match(run.stdout, /^ {2}--only HOST\[,HOST…\] /m, `${script}: the option list says --only HOST[,HOST…]`);
      assert.not.ok(/\b(NODE|MASTER)\b/.test(run.stdout), `${script}: no other word for a host (NODE, MASTER) in its help:\n${run.stdout}`);
    }
    const unknown = runScript(world, script, {}, ['--bogus']);
    assert.is(unknown.status, 2, `${script} --bogus exits 2:\n${unknown.shown}`);
    assert.ok(unknown.stderr.startsWith(`${script}: unknown argument --bogus\n`), `${script} --bogus names it:\n${unknown.shown}`);
    assert.ok(unknown.stderr.includes(`Usage: ${script} `), `${script} --bogus shows the usage on stderr:\n${unknown.shown}`);
    const jobs = script === 'verify.sh' ? [] : [['--jobs', '0'], ['-jx'], ['-j', '65'], ['--jobs=99999999999999999999'], ['-j', '-1']];
    for (const args of [...jobs, ['--only'], ['--only', '']]) {
      const bad = runScript(world, script, {}, args);
      assert.is(bad.status, 2, `${script} ${args.join(' ')} exits 2:\n${bad.shown}`);
      assert.match(bad.stderr, new RegExp(`^${script.replace('.', '\\.')}: `), `${script} ${args.join(' ')}: the usage error comes first:\n${bad.shown}`);
      assert.not.ok(/^error: /m.test(bad.stderr), `${script} ${args.join(' ')}: a usage error, not a failed step:\n${bad.shown}`);
    }
  }
  assertUntouched(world, runScript(world, 'ntp.sh', {}, ['--help']));
});

withWorld('-j takes 1 to 64: -j 64 runs, a huge -j (that bash arithmetic would wrap around) is a usage error at once, and verify.sh, which has nothing to run in parallel, refuses -j', (world) => {
  const most = runScript(world, 'ntp.sh', {}, ['-j', '64']);
  assert.is(most.status, 0, `-j 64 is allowed:\n${most.shown}`);
  clearLogs(world);
  for (const huge of ['18446744073709551617', '9223372036854775808', '99999999999999999999999']) {
    const run = runScript(world, 'distribute.sh', {}, ['-j', huge]);
    assert.is(run.status, 2, `-j ${huge} exits 2 (and does not spin):\n${run.shown}`);
    assert.ok(run.stderr.startsWith(`distribute.sh: --jobs takes a whole number from 1 to 64, not '${huge}'\n`), `-j ${huge}: says what -j takes:\n${run.shown}`);
    assert.ok(run.ms < 10_000, `-j ${huge} answers at once; took ${run.ms} ms`);
  }
  for (const args of [['-j', '2'], ['-j2'], ['--jobs', '2'], ['--jobs=2']]) {
    const run = runScript(world, 'verify.sh', {}, args);
    assert.is(run.status, 2, `verify.sh ${args.join(' ')} is refused:\n${run.shown}`);
    assert.match(run.stderr, /^verify\.sh: unknown argument -/, `verify.sh ${args.join(' ')}: names the argument:\n${run.shown}`);
  }
  assertUntouched(world, runScript(world, 'verify.sh', {}, ['-j', '2']));
});

withWorld('every script: --only nosuchhost exits 2 naming it, before reaching any host; distribute.sh and verify.sh take masters only', (world) => {
  for (const script of SCRIPTS) {
    const run = runScript(world, script, {}, ['--only', 'master1,nosuchhost']);
    assert.is(run.status, 2, `${script} --only master1,nosuchhost:\n${run.shown}`);
    assert.match(run.stderr, /--only: no host named 'nosuchhost' here \(hosts: master1 master2 master3/, `${script}: names the unknown host and the known ones:\n${run.shown}`);
  }
  for (const script of ['distribute.sh', 'verify.sh']) {
    const run = runScript(world, script, {}, ['--only=worker1']);
    assert.is(run.status, 2, `${script} --only=worker1: a worker runs no etcd:\n${run.shown}`);
  }
  assertUntouched(world, runScript(world, 'ntp.sh', {}, ['--only', 'nosuchhost']));
});

withWorld('distribute.sh --only master2 touches only master2; ntp.sh --only master2,worker1 only those two', (world) => {
  const before = hostsSnapshot(world);
  const run = runScript(world, 'distribute.sh', {}, ['--only', 'master2']);
  assert.is(run.status, 0, run.shown);
  assert.equal(callLines(calls(world)), [vagrantCall('master2')], 'one call, to master2');
  assert.equal(new Set(remoteLog(world).map(([host]) => host)), new Set(['master2']), 'commands ran on master2 only');
  const after = hostsSnapshot(world);
  const changed = Object.keys({ ...before, ...after }).filter((path) => before[path] !== after[path]);
  assert.ok(changed.length > 0 && changed.every((path) => path.startsWith('hosts/master2/')), `only master2's files changed: ${changed.join(', ')}`);
  assert.equal(list(world.fs('master2', 'etc', 'kubernetes', 'manifests')), ['etcd.manifest'], 'master2 got its manifest');
  assertSummary(run, ['master2'], 1);

  clearLogs(world);
  const ntp = runScript(world, 'ntp.sh', {}, ['--only', 'master2,worker1']);
  assert.is(ntp.status, 0, ntp.shown);
  assert.equal(sorted(callLines(calls(world))), sorted(['master2', 'worker1'].map(vagrantCall)), 'one call each, to master2 and worker1');
  assertSummary(ntp, ['master2', 'worker1'], 2);
});

// ---------------------------------------------------------------------------------------------------------------
// --dry-run: every remote command and copy printed, nothing run, nothing touched

const wouldRun = (host: string) => `[${host}] would run, through vagrant ssh ${host}:`;

/**
 * HOST's dry-run block: the lines of the remote script it would send ("    | …"), after its "would run" line, inside
 * the group every remote script is sent as ("{ exec </dev/null" … "}"), which is checked and left off.
 */
function dryScript(run: Run, host: string): string[] {
  const lines = run.stdout.split('\n');
  const at = lines.indexOf(wouldRun(host));
  assert.ok(at >= 0, `expected "${wouldRun(host)}":\n${run.shown}`);
  const script: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('    |')) break;
    script.push(line.slice(6));
  }
  assert.is(script[0], '{ exec </dev/null', `${host}: the remote script is one group whose commands read /dev/null, not the script:\n${run.shown}`);
  assert.equal(script.slice(-2), ['', '}'], `${host}: the group closes at the end of the script:\n${run.shown}`);
  return script.slice(1, -2);
}

withWorld('ntp.sh --dry-run prints each node\'s remote script (the install, date -R, the clock reading) and makes no transport call', (world) => {
  const before = hostsSnapshot(world);
  const run = runScript(world, 'ntp.sh', {}, ['--dry-run']);
  assert.is(run.status, 0, run.shown);
  assertUntouched(world, run);
  assert.equal(hostsSnapshot(world), before, 'no host changed');
  for (const node of NODES) {
    const script = dryScript(run, node);
    assert.ok(script.some((line) => line.trim() === 'packages=(ntp)') && script.some((line) => line.trim() === 'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"'), `${node}: the install:\n${script.join('\n')}`);
    assert.ok(script.includes('date -R'), `${node}: date -R`);
    assert.ok(script.some((line) => line.includes('date +%s.%N')), `${node}: the clock reading`);
    assert.ok(run.stdout.includes(`[${node}] install ntp and read the clock\n${wouldRun(node)}`), `${node}: its step line comes first`);
  }
});

withWorld('distribute.sh --dry-run prints every copy ("would copy FILE to PATH (mode M)") and each master\'s remote script, never the key\'s bytes, and makes no transport call', (world) => {
  const before = hostsSnapshot(world);
  const run = runScript(world, 'distribute.sh', {}, ['-n']);
  assert.is(run.status, 0, run.shown);
  assertUntouched(world, run);
  assert.equal(hostsSnapshot(world), before, 'no host changed');
  const remote = `${world.dir}/remote`;
  for (const master of MASTERS) {
    const copies = run.stdout
      .split('\n')
      .map((line) => new RegExp(`^\\[${master}\\] would copy (\\S+) to (\\S+) \\(mode (\\d+)\\)$`).exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map(([, from, to, mode]) => [from, to, mode]);
    // Printed as the files' own paths, never as out/../ca.pem.
    assert.not.ok(copies.some(([from]) => from!.includes('/../') || from!.includes('/./')), `${master}: paths are normalised:\n${run.shown}`);
    assert.equal(copies, [
      [join(world.project, TLS.cert), `${remote}/etc/etcd/${TLS.cert}`, '0644'],
      [join(world.project, TLS.key), `${remote}/etc/etcd/${TLS.key}`, '0600'],
      [join(world.project, TLS.ca), `${remote}/etc/etcd/${TLS.ca}`, '0644'],
      [join(world.out, `${master}-etcd.manifest`), `${remote}/etc/kubernetes/manifests/etcd.manifest`, '0644'],
    ], `${master}: every copy, with its destination and mode:\n${run.shown}`);
    const script = dryScript(run, master);
    // Placed beside its place under another name, then renamed; a running member's that differs waits for the rolling apply.
    assert.ok(script.some((line) => line === `place_or_leave "$stage"/${TLS.key} ${remote}/etc/etcd/${TLS.key} 0600 ${remote}/etc/etcd/.${TLS.key}.etcd-bootstrap`), `${master}: the key's placing:\n${script.join('\n')}`);
    assert.ok(script.some((line) => line.includes('sudo install -o root -g root -m')), `${master}: the install as root`);
  }
  const key = dummy(TLS.key);
  for (const secret of [key.trim(), Buffer.from(key).toString('base64').slice(0, 24)]) {
    assert.not.ok(run.stdout.includes(secret) || run.stderr.includes(secret), `the key's bytes (${secret}) are never printed`);
  }
});

withWorld('distribute.sh --dry-run with the certificates in pki/ beside cluster.json prints pki/… under the project, not out/../pki/…', (world) => {
  const run = runScript(world, 'distribute.sh', {}, ['--dry-run', '--only', 'master1']);
  assert.is(run.status, 0, run.shown);
  for (const file of Object.values(TLS)) {
    assert.ok(run.stdout.includes(`[master1] would copy ${join(world.project, 'pki', file)} to `), `${file} is named by its own path:\n${run.shown}`);
  }
  assert.not.ok(run.stdout.includes('/../'), `no "/../" anywhere:\n${run.shown}`);
}, { edit: (cluster) => (cluster['tls'] = { ca: `pki/${TLS.ca}`, cert: `pki/${TLS.cert}`, key: `pki/${TLS.key}` }) });

withWorld('preflight.sh --dry-run checks the certificates here, prints each node\'s remote checks (ports with ss, the ip with ip addr), and makes no transport call', (world) => {
  makeCertificates(world);
  const run = runScript(world, 'preflight.sh', {}, ['--dry-run']);
  assert.is(run.status, 0, run.shown);
  assertUntouched(world, run);
  assert.match(run.stdout, /^ {2}ok: the key matches the certificate$/m, 'the local checks ran');
  for (const master of MASTERS) {
    const script = dryScript(run, master).join('\n');
    assert.ok(script.includes('ss -Htlnp') && script.includes('ip -o addr show') && script.includes('date +%s.%N'), `${master}: ports, ip and clock:\n${script}`);
    const ip = `192.168.56.${11 + MASTERS.indexOf(master)}`;
    assert.ok(script.startsWith(`expected_ip=${ip}\n`), `${master}: checks for its own ip ${ip}`);
  }
  for (const worker of WORKERS) assert.equal(dryScript(run, worker), ['printf "clock: %s\\n" "$(date +%s.%N)"'], `${worker}: only its clock`);
  const key = readFileSync(join(world.project, TLS.key), 'utf8').split('\n')[1]!;
  assert.not.ok(run.stdout.includes(key), 'the key\'s bytes are never printed');
});

withWorld('verify.sh --dry-run prints the etcdctl commands it would run on the first master (or here, with --local), and makes no transport call', (world) => {
  const run = runScript(world, 'verify.sh', {}, ['--dry-run']);
  assert.is(run.status, 0, run.shown);
  assertUntouched(world, run);
  const commands = run.stdout.split('\n').filter((line) => line.startsWith('    | ')).join('\n');
  assert.match(commands, /sudo docker run [^\n]*quay\.io\/coreos\/etcd:v3\.3\.5 \/usr\/local\/bin\/etcdctl [^\n]* member list/, `member list:\n${run.shown}`);
  assert.match(commands, /sudo docker run [^\n]* endpoint health /, `endpoint health:\n${run.shown}`);
  assert.ok(run.stdout.includes(wouldRun('master1')), run.shown);
  const only = runScript(world, 'verify.sh', {}, ['--dry-run', '--only', 'master3']);
  assert.ok(only.stdout.includes(wouldRun('master3')) && !only.stdout.includes(wouldRun('master1')), `--only master3 asks master3:\n${only.shown}`);
  const local = runScript(world, 'verify.sh', {}, ['--dry-run', '--local']);
  assert.is(local.status, 0, local.shown);
  assert.match(local.stdout, /^\[local\] would run: ETCDCTL_API=3 etcdctl [^\n]* member list /m, local.shown);
  assertUntouched(world, local);
});

// ---------------------------------------------------------------------------------------------------------------
// The clock check and the time-sync service

withWorld('ntp.sh with master2\'s clock 5 s ahead: exit 1, stderr names master2 and says its clock is off; every other node succeeds', (world) => {
  const run = runScript(world, 'ntp.sh', { STANDIN_SKEW_master2: '5' });
  assert.is(run.status, 1, run.shown);
  assert.match(run.stderr, /^ {2}master2: check the clock: within 1 s of this machine's \(exit status 1\): its clock is \+[45]\.\d{3} s off this machine's, more than 1 s/m, `the summary line names master2, the step, and how far off its clock is:\n${run.shown}`);
  // ntp.sh has just run: "run ntp.sh" would send the operator round in a circle. Say what to look at.
  assert.not.ok(/run ntp\.sh/i.test(run.stderr), `the advice is not to run ntp.sh again:\n${run.shown}`);
  assert.match(run.stderr, /`ntpq -p` lists the time servers/, `the advice names ntp's own view of its servers:\n${run.shown}`);
  assert.match(run.stderr, /`systemctl status ntp`/, `and the service's status:\n${run.shown}`);
  assert.match(run.stderr, /UDP port 123/, `and the port a firewall may block:\n${run.shown}`);
  assert.not.ok(/master1|master3|worker/.test(run.stderr), `no other node is named on stderr:\n${run.shown}`);
  const output = assertBlocks(run, NODES, () => 'install ntp and read the clock');
  assert.ok(output.blocks.find((b) => b.host === 'master2')!.lines.some((line) => line.startsWith('error: [master2] its clock is +')), `master2's block says it too:\n${run.shown}`);
  assertSummary(run, NODES.filter((n) => n !== 'master2'), NODES.length);
});

withWorld('ntp.sh: a clock behind counts as well as one ahead (worker1 3 s behind fails), and timeSync.maxSkewSeconds: 10 lets 5 s pass', (world) => {
  const behind = runScript(world, 'ntp.sh', { STANDIN_SKEW_worker1: '-3' });
  assert.is(behind.status, 1, behind.shown);
  assert.match(behind.stderr, /^ {2}worker1: [^\n]*: its clock is -[23]\.\d{3} s off/m, behind.shown);
  const cluster = JSON.parse(readFileSync(world.config, 'utf8')) as ClusterDoc;
  cluster['timeSync'] = { maxSkewSeconds: 10 };
  writeFileSync(world.config, JSON.stringify(cluster));
  assert.is(world.generate().code, 0);
  const lenient = runScript(world, 'ntp.sh', { STANDIN_SKEW_master2: '5' });
  assert.is(lenient.status, 0, lenient.shown);
  assert.match(lenient.stdout, /^\[master2\] check the clock: within 10 s of this machine's\n\[master2\] clock: \+[45]\.\d{3} s from this machine's$/m, lenient.shown);
});

for (const [service, enable] of [['chrony', false], ['systemd-timesyncd', true]] as const) {
  withWorld(`timeSync.service ${service}: ntp.sh installs ${service} on every node${enable ? ' and runs timedatectl set-ntp true as root' : ', and nothing else'}`, (world) => {
    const run = runScript(world, 'ntp.sh');
    assert.is(run.status, 0, run.shown);
    assertBlocks(run, NODES, () => `install ${service} and read the clock`);
    const log = remoteLog(world);
    for (const node of NODES) {
      const installs = log.filter(([host, word, , command]) => host === node && word === 'apt-get' && command === 'install').map((w) => w.slice(3));
      assert.equal(installs, [['install', '-y', service]], `${node}: apt-get install -y ${service}`);
      const timedatectl = log.filter(([host, word]) => host === node && word === 'timedatectl').map((w) => w.slice(2).join(' '));
      assert.equal(timedatectl, enable ? ['set-ntp true'] : [], `${node}: timedatectl calls`);
      if (enable) assert.ok(log.some(([host, word, command]) => host === node && word === 'sudo' && command === 'timedatectl'), `${node}: timedatectl runs under sudo`);
    }
    assert.not.ok(log.some(([, , , command, package_]) => command === 'install' && package_ === 'ntp'), 'ntp is not installed');
    clearLogs(world);
    const again = runScript(world, 'ntp.sh');
    assert.is(again.status, 0, again.shown);
    assert.ok(again.stdout.includes(`  ${service} is already installed`), again.shown);
    // A clock off after the install: the advice names this service's own commands.
    const skewed = runScript(world, 'ntp.sh', { STANDIN_SKEW_worker2: '4' });
    assert.is(skewed.status, 1, skewed.shown);
    const advice = service === 'chrony' ? '`chronyc sources`' : '`timedatectl timesync-status`';
    assert.ok(skewed.stderr.includes(advice) && skewed.stderr.includes(`\`systemctl status ${service}\``), `the advice for ${service}: ${advice} and its status:\n${skewed.shown}`);
  }, { edit: (cluster) => (cluster['timeSync'] = { service }) });
}

// ---------------------------------------------------------------------------------------------------------------
// preflight.sh --local: the certificate checks, with certificates made by openssl

/** preflight.sh --local: exit 1, with "FAIL: WHAT" and its "-> ADVICE" on the next line; no transport call. */
function assertLocalFailure(world: World, what: RegExp, advice: RegExp): void {
  const run = runScript(world, 'preflight.sh', {}, ['--local']);
  assert.is(run.status, 1, `expected preflight.sh --local to fail:\n${run.shown}`);
  const lines = run.stdout.split('\n');
  const at = lines.findIndex((line) => line.startsWith('  FAIL: ') && what.test(line));
  assert.ok(at >= 0, `expected a FAIL line matching ${what}:\n${run.shown}`);
  assert.match(lines[at + 1] ?? '', /^ {8}-> /, `the FAIL line is followed by its advice:\n${run.shown}`);
  assert.match(lines[at + 1]!, advice, `the advice:\n${run.shown}`);
  assert.match(run.stderr, /^\n?\d+ certificate check\(s\) failed\.$/m, `stderr counts the failures:\n${run.shown}`);
  assertUntouched(world, run);
}

const certTest = (name: string, body: (world: World) => void) => withWorld(name, body, { tools: ['openssl'] });

certTest('preflight.sh --local passes with a CA and a certificate whose SANs cover every master\'s host and ip, reaching no node', (world) => {
  makeCertificates(world);
  const run = runScript(world, 'preflight.sh', {}, ['--local']);
  assert.is(run.status, 0, run.shown);
  for (const name of [...MASTERS.map((m) => `${m}.node.local.consul`), '192.168.56.11', '192.168.56.12', '192.168.56.13']) {
    assert.ok(run.stdout.includes(`  ok: the certificate covers ${name}\n`), `${name} is covered:\n${run.shown}`);
  }
  for (const ok of [/ok: the certificate is valid until /, /ok: the certificate is signed by the CA in ca\.pem/, /ok: the key matches the certificate/, /the certificates pass every check\./]) {
    assert.match(run.stdout, ok, run.shown);
  }
  assert.not.ok(run.stdout.includes('FAIL'), run.shown);
  assertUntouched(world, run);
});

certTest('preflight.sh --local fails when a master\'s host or ip is missing from the SANs, naming it', (world) => {
  makeCertificates(world, { sans: 'DNS:master1.node.local.consul,DNS:master3.node.local.consul,IP:192.168.56.11,IP:192.168.56.12' });
  assertLocalFailure(world, /the certificate's SANs do not cover master2\.node\.local\.consul$/, /make the certificate again with master2\.node\.local\.consul among its subject alternative names/);
  assertLocalFailure(world, /the certificate's SANs do not cover 192\.168\.56\.13$/, /with 192\.168\.56\.13 among its subject alternative names/);
});

certTest('preflight.sh --local fails on an expired certificate (valid 2020-01-01 to 2020-01-02, signed with openssl ca)', (world) => {
  makeCertificates(world, { dates: ['20200101000000Z', '20200102000000Z'] });
  assertLocalFailure(world, /the certificate expired on Jan {2}2 00:00:00 2020 GMT$/, /-> make a new certificate: out\/certs\.sh --renew$/);
});

certTest('preflight.sh --local fails on a certificate that expires within 30 days (openssl x509 -req -days 10)', (world) => {
  makeCertificates(world, { days: 10 });
  assertLocalFailure(world, /the certificate expires within 30 days, on /, /make a new certificate before it expires/);
});

certTest('preflight.sh --local fails on a certificate not valid yet (from 2099)', (world) => {
  makeCertificates(world, { dates: ['20990101000000Z', '20991231000000Z'] });
  assertLocalFailure(world, /the certificate is not valid yet \(from /, /check this machine's clock, or make the certificate again/);
});

certTest('preflight.sh --local fails on a certificate signed by another CA than tls.ca', (world) => {
  makeCertificates(world);
  // Another CA, in place of the one that signed the certificate.
  makeCertificates(world, { files: { ca: TLS.ca, cert: 'other.pem', key: 'other-key.pem' } });
  assertLocalFailure(world, /the certificate is not signed by the CA in ca\.pem: /, /sign it with that CA, or point tls\.ca at the CA that signed it/);
});

certTest('preflight.sh --local fails on a key that does not match the certificate', (world) => {
  makeCertificates(world);
  makeCertificates(world, { files: { ca: 'other-ca.pem', cert: 'other.pem', key: TLS.key } });
  assertLocalFailure(world, /the key in kubernetes-key\.pem does not match the certificate$/, /point tls in cluster\.json at the certificate's own key/);
});

certTest('preflight.sh --local fails, with advice, when the certificate is not a certificate at all (no openssl error escapes)', (world) => {
  makeCertificates(world);
  writeFileSync(join(world.project, TLS.cert), dummy(TLS.cert));
  assertLocalFailure(world, /kubernetes\.pem is not a PEM certificate$/, /point tls in cluster\.json at the certificate/);
  const run = runScript(world, 'preflight.sh', {}, ['--local']);
  assert.not.ok(/^error: /m.test(run.stderr), `a failed check, not a crash:\n${run.shown}`);
});

certTest('preflight.sh --local fails when a certificate file is missing, saying to make the certificates', (world) => {
  makeCertificates(world);
  rmSync(join(world.project, TLS.ca));
  assertLocalFailure(world, /cannot read \S*ca\.pem$/, /make the certificates first, or correct tls in cluster\.json/);
});

// ---------------------------------------------------------------------------------------------------------------
// preflight.sh against the nodes

const preflightStep = (host: string) =>
  MASTERS.includes(host) ? 'reach it, read its clock, check its ports, manifest directory and ip' : 'reach it and read its clock';

certTest('preflight.sh with everything right: one call per node; per master ports free, manifest directory there, ip its own; every clock checked; exit 0', (world) => {
  makeCertificates(world);
  // etcd already listening on master1 is not a conflict: a second run of the whole procedure must pass.
  writeFileSync(world.state('master1', 'listening'), 'LISTEN 0 4096 192.168.56.11:2379 0.0.0.0:* users:(("etcd",pid=812,fd=7))\n');
  const run = runScript(world, 'preflight.sh');
  assert.is(run.status, 0, run.shown);
  assert.equal(sorted(callLines(calls(world))), sorted(NODES.map(vagrantCall)), 'one call per node');
  const output = parseOutput(run.stdout);
  for (const master of MASTERS) {
    const block = output.blocks.find((b) => b.host === master)!.lines;
    const ip = `192.168.56.${11 + MASTERS.indexOf(master)}`;
    assert.ok(block.includes(master === 'master1' ? "  ok: port 2379 is etcd's own: etcd already runs here" : '  ok: port 2379 is free'), `${master} port 2379:\n${run.shown}`);
    assert.ok(block.includes('  ok: port 2380 is free'), `${master} port 2380:\n${run.shown}`);
    assert.ok(block.some((line) => /^ {2}ok: \S+\/etc\/kubernetes\/manifests exists$/.test(line)), `${master} manifest directory:\n${run.shown}`);
    assert.ok(block.includes(`  ok: ${ip} is one of this master's addresses`), `${master} ip:\n${run.shown}`);
    assert.ok(block.some((line) => line.startsWith(`[${master}] clock: `)), `${master} clock:\n${run.shown}`);
  }
  for (const worker of WORKERS) {
    const block = output.blocks.find((b) => b.host === worker)!.lines;
    assert.ok(block.some((line) => line.startsWith(`[${worker}] clock: `)), `${worker} clock:\n${run.shown}`);
    assert.not.ok(block.some((line) => line.includes('port')), `${worker}: no etcd checks on a worker`);
  }
  assertBlocks(run, NODES, preflightStep);
  assertSummary(run, NODES, NODES.length);
});

certTest('preflight.sh with one fault per node: each fails with its own FAIL line and advice, stderr names every node and why', (world) => {
  makeCertificates(world);
  rmSync(world.fs('master1', 'etc', 'kubernetes', 'manifests'), { recursive: true });
  writeFileSync(world.state('master2', 'addresses'), '10.9.9.9\n');
  // etcd on its ip, and another process on the same port elsewhere: in use, whatever etcd's own socket says.
  writeFileSync(
    world.state('master3', 'listening'),
    [
      'LISTEN 0 4096 192.168.56.13:2379 0.0.0.0:* users:(("etcd",pid=812,fd=7))',
      'LISTEN 0 5 127.0.0.1:2379 0.0.0.0:* users:(("socat",pid=900,fd=5))',
      'LISTEN 0 511 0.0.0.0:2380 0.0.0.0:* users:(("nginx",pid=700,fd=6))',
      '',
    ].join('\n'),
  );
  const run = runScript(world, 'preflight.sh', { STANDIN_FAIL: 'worker1 ssh', STANDIN_SKEW_worker2: '30' });
  assert.is(run.status, 1, run.shown);
  const block = (host: string) => parseOutput(run.stdout).blocks.find((b) => b.host === host)!.lines.join('\n');
  assert.match(block('master1'), /FAIL: \S+\/etc\/kubernetes\/manifests does not exist\n {8}-> install and configure kubelet first/, run.shown);
  assert.match(block('master2'), /FAIL: 192\.168\.56\.12 is not one of this master's addresses: 127\.0\.0\.1 ::1 10\.9\.9\.9 \n {8}-> correct this master's ip in cluster\.json/, run.shown);
  assert.match(block('master3'), /FAIL: port 2379 is in use: LISTEN 0 5 127\.0\.0\.1:2379 0\.0\.0\.0:\* users:\(\("socat",pid=900,fd=5\)\)\n/, run.shown);
  assert.match(block('master3'), /FAIL: port 2380 is in use: [^\n]*nginx[^\n]*\n {8}-> stop what listens there, or choose another port/, run.shown);
  for (const master of MASTERS) assert.match(run.stderr, new RegExp(`^ {2}${master}: the checks on the node \\(exit status 1\\): failed the checks above$`, 'm'), run.shown);
  // What the transport said comes with the script's own words, on the same line.
  assert.match(run.stderr, /^ {2}worker1: reach it and read its clock \(exit status 1\): is not reachable: check that it runs and that the transport reaches it \(stand-in vagrant: ssh to worker1 failed \(simulated\)\)$/m, run.shown);
  assert.match(run.stderr, /^ {2}worker2: check the clock: [^\n]*\(exit status 1\): its clock is \+(29|30)\.\d{3} s off/m, run.shown);
  assertBlocks(run, NODES, preflightStep);
  assertSummary(run, [], NODES.length);
});

withWorld('preflight.sh with failing certificates still checks every node, then exits 1', (world) => {
  // The world's certificates are dummies: every certificate check fails.
  const run = runScript(world, 'preflight.sh');
  assert.is(run.status, 1, run.shown);
  assert.match(run.stdout, /^ {2}FAIL: \S+\/kubernetes\.pem is not a PEM certificate\n {8}-> point tls in cluster\.json at the certificate/m, run.shown);
  assert.equal(sorted(callLines(calls(world))), sorted(NODES.map(vagrantCall)), 'every node was checked');
  assertSummary(run, NODES, NODES.length);
}, { tools: ['openssl'] });

// ---------------------------------------------------------------------------------------------------------------
// The ssh transport

const SSH_TRANSPORT = {
  kind: 'ssh',
  user: 'admin',
  port: 2222,
  identityFile: 'keys/id_ed25519',
  jumpHost: 'admin@bastion.example.com:2200',
  options: ['StrictHostKeyChecking=accept-new', 'ConnectTimeout=5'],
};
/** Where each node is reached: two masters and a worker by an address, the others by their host or name. */
const ADDRESSES: Record<string, string> = {
  master1: '10.0.0.11',
  master2: 'master2.example.com',
  master3: 'master3.node.local.consul',
  worker1: '10.0.1.21',
  worker2: 'worker2',
};
const sshEdit = (transport: unknown) => (cluster: ClusterDoc) => {
  cluster['transport'] = transport;
  cluster.masters[0]!.address = ADDRESSES['master1']!;
  cluster.masters[1]!.address = ADDRESSES['master2']!;
  cluster.workers[0]!.address = ADDRESSES['worker1']!;
};
/** The jump host, reached with the same options and identity (test/sshd.test.ts runs it against real sshd). */
const PROXY_COMMAND = `ProxyCommand=ssh -o BatchMode=yes -l admin -p 2200 -o StrictHostKeyChecking=accept-new -o ConnectTimeout=5 -i "$ETCD_BOOTSTRAP_SSH_IDENTITY" -W '[%h]:%p' -- bastion.example.com`;
const sshArgv = (world: World, address: string) => [
  '-o', 'BatchMode=yes', '-l', 'admin', '-p', '2222', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'ConnectTimeout=5',
  '-o', PROXY_COMMAND, '-i', join(world.project, 'keys', 'id_ed25519'),
  '--', address, 'bash', '-euo', 'pipefail', '-s',
];
/** The identity file's word as ssh got it: absolute; compared once resolved (it is "…/out/../keys/…"). */
const resolvedIdentity = (argv: string[]) => argv.map((word, i) => (argv[i - 1] === '-i' ? (isAbsolute(word) ? resolve(word) : `relative: ${word}`) : word));

withWorld('ssh transport: distribute.sh reaches each master at its address with -o BatchMode=yes -l -p -o… -o ProxyCommand -i <absolute identity>, one call each, and places everything', (world) => {
  const run = runScript(world, 'distribute.sh');
  assert.is(run.status, 0, run.shown);
  const recorded = calls(world);
  assert.ok(recorded.every((c) => c.tool === 'ssh'), `only ssh was called: ${callLines(recorded).join('\n')}`);
  assert.equal(sorted(recorded.map((c) => JSON.stringify(resolvedIdentity(c.argv)))), sorted(MASTERS.map((m) => JSON.stringify(sshArgv(world, ADDRESSES[m]!)))), `the ssh argv, word for word:\n${callLines(recorded).join('\n')}`);
  for (const master of MASTERS) {
    assert.equal(list(world.fs(master, 'etc', 'etcd')), [TLS.ca, TLS.key, TLS.cert].sort(), `${master}: the certificates`);
    assert.is(readFileSync(world.fs(master, 'etc', 'kubernetes', 'manifests', 'etcd.manifest'), 'utf8'), readFileSync(join(world.out, `${master}-etcd.manifest`), 'utf8'), `${master}: its manifest`);
  }
  assertSummary(run, MASTERS, MASTERS.length);
  clearLogs(world);
  const again = runScript(world, 'distribute.sh');
  assert.is(again.status, 0, again.shown);
  assert.is(again.stdout.split('\n').filter((line) => line.endsWith(': already in place')).length, 12, `the second run changes nothing:\n${again.shown}`);
}, { edit: sshEdit(SSH_TRANSPORT) });

withWorld('ssh transport: ntp.sh reaches every node (a worker without address by its name), --dry-run shows the ssh command, a refused connection names the node', (world) => {
  const run = runScript(world, 'ntp.sh');
  assert.is(run.status, 0, run.shown);
  assert.equal(sorted(calls(world).map((c) => c.argv.at(-5)!)), sorted(NODES.map((n) => ADDRESSES[n]!)), 'one ssh per node, to its address');
  clearLogs(world);
  const dry = runScript(world, 'ntp.sh', {}, ['--dry-run', '--only', 'master1']);
  assert.is(dry.status, 0, dry.shown);
  assert.match(dry.stdout, /^\[master1\] would run, through ssh -o BatchMode=yes -l admin -p 2222 -o StrictHostKeyChecking=accept-new -o ConnectTimeout=5 -o ProxyCommand=ssh -o BatchMode=yes -l admin -p 2200 .* -- bastion\.example\.com -i \/\S+\/keys\/id_ed25519 10\.0\.0\.11:$/m, dry.shown);
  assert.equal(calls(world), [], 'the dry run made no ssh call');
  const refused = runScript(world, 'ntp.sh', { STANDIN_FAIL: 'worker1 ssh' });
  assert.is(refused.status, 1, refused.shown);
  assert.match(refused.stderr, /^ {2}worker1: install ntp and read the clock/m, refused.shown);
}, { edit: sshEdit(SSH_TRANSPORT) });

withWorld('ssh transport with only kind: ssh: -o BatchMode=yes -p 22 -- HOST, no -l, ProxyCommand or -i', (world) => {
  const run = runScript(world, 'distribute.sh', {}, ['--only', 'master3']);
  assert.is(run.status, 0, run.shown);
  assert.equal(calls(world).map((c) => c.argv), [['-o', 'BatchMode=yes', '-p', '22', '--', 'master3.node.local.consul', 'bash', '-euo', 'pipefail', '-s']]);
}, { edit: (cluster) => (cluster['transport'] = { kind: 'ssh' }) });

withWorld('choosing ssh changes nothing in the scripts but the "# Transport:" block of their library, the header line that names the options, and the library\'s fingerprint (vagrant and ssh renderings of the same cluster, diffed)', (world) => {
  const files = [...SCRIPTS, 'lib.sh'];
  const render = (transport: unknown) => {
    const cluster = JSON.parse(readFileSync(world.config, 'utf8')) as ClusterDoc;
    cluster['transport'] = transport;
    writeFileSync(world.config, JSON.stringify(cluster, null, 2));
    const generated = world.generate();
    assert.is(generated.code, 0, generated.err.join('\n'));
    return Object.fromEntries(files.map((file) => [file, readFileSync(join(world.out, file), 'utf8')]));
  };
  const ssh = render(SSH_TRANSPORT);
  const vagrant = render({ kind: 'vagrant' });
  /** [before the block, the block, after it]: the block runs from "# Transport:" to the runner's first line. */
  const split = (text: string, what: string) => {
    const lines = text.split('\n');
    const start = lines.findIndex((line) => line.startsWith('# Transport: '));
    const end = lines.findIndex((line) => line.startsWith('# ---- Options every script takes'));
    assert.ok(start > 0 && end > start, `${what}: a "# Transport:" block before the runner`);
    return [lines.slice(0, start), lines.slice(start, end), lines.slice(end)];
  };
  // The library's fingerprint, in the library and in every script, follows its text: the transport block changes it.
  const fingerprints = (text: string) => [...text.matchAll(/sha256:[0-9a-f]{64}/g)].map((m) => m[0]);
  const unfingerprinted = (text: string) => text.replace(/sha256:[0-9a-f]{64}/g, 'sha256:FINGERPRINT');
  const [vFingerprint] = fingerprints(vagrant['lib.sh']!);
  const [sFingerprint] = fingerprints(ssh['lib.sh']!);
  assert.ok(vFingerprint && sFingerprint && vFingerprint !== sFingerprint, 'the two libraries have two fingerprints');
  const [vBefore, vBlock, vAfter] = split(unfingerprinted(vagrant['lib.sh']!), 'vagrant lib.sh');
  const [sBefore, sBlock, sAfter] = split(unfingerprinted(ssh['lib.sh']!), 'ssh lib.sh');
  assert.equal(sBefore, vBefore, 'lib.sh: everything before the transport block is the same, but the fingerprint');
  assert.equal(sAfter, vAfter, 'lib.sh: everything after the transport block is the same');
  assert.ok(vBlock!.join('\n').includes('vagrant ssh "$1" -- bash -euo pipefail -s'), 'lib.sh: the vagrant block runs vagrant ssh');
  assert.ok(sBlock!.join('\n').includes('ssh "${ssh_args[@]}" -- "${address[$1]}" bash -euo pipefail -s'), 'lib.sh: the ssh block runs ssh');
  assert.not.ok(sBlock!.join('\n').includes('vagrant'), 'lib.sh: no vagrant in the ssh transport block');
  /** The header's "# Connects with: …" line says which ssh options the script passes: it differs, and says so. */
  const connects = (lines: string[]) => lines.filter((line) => line.startsWith('# Connects with: '));
  const others = (lines: string[]) => lines.filter((line) => !line.startsWith('# Connects with: '));
  for (const script of SCRIPTS) {
    assert.equal(fingerprints(vagrant[script]!), [vFingerprint], `${script}: names the vagrant library`);
    assert.equal(fingerprints(ssh[script]!), [sFingerprint], `${script}: names the ssh library`);
    const v = unfingerprinted(vagrant[script]!).split('\n');
    const s = unfingerprinted(ssh[script]!).split('\n');
    assert.equal(connects(v), ['# Connects with: vagrant ssh NODE (vagrant chooses the ssh options; cluster.json passes none).'], `${script}: vagrant's header line`);
    assert.equal(connects(s), ['# Connects with: ssh, options -o BatchMode=yes, and from transport.options in cluster.json: StrictHostKeyChecking=accept-new ConnectTimeout=5.'], `${script}: ssh's header line names its options`);
    assert.equal(others(s), others(v), `${script}: everything else is the same`);
    assert.not.ok(v.some((line) => line.startsWith('# Transport: ')), `${script}: the transport is the library's, not the script's`);
  }
}, { edit: (cluster) => {
  cluster.masters[0]!.address = ADDRESSES['master1']!;
} });

test.run();
