// transport.options takes only ssh options known to be harmless; any other (ProxyCommand, LocalCommand,
// KnownHostsCommand, StrictHostKeyChecking=no, …) must stand in transport.unsafeOptions, and every script's header
// names the options it passes. The claims about how ssh reads an option are checked against the real ssh (ssh -G
// prints the configuration it would use, connecting nowhere).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblem, parseCluster } from '../src/load.js';
import { plan } from '../src/plan.js';
import { SAFE_SSH_OPTIONS, connectionHeader, parseSshOption, unsafeReason } from '../src/ssh-options.js';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';
import { requireTools } from './support/tools.js';

/** What the real ssh makes of these -o options: its exit status and the configuration it prints (lowercase keys). */
function sshG(options: string[]): { status: number | null; config: Map<string, string>; stderr: string } {
  const result = spawnSync('ssh', ['-G', '-F', '/dev/null', ...options.flatMap((o) => ['-o', o]), 'node.invalid'], { encoding: 'utf8', env: { ...process.env, HOME: '/nonexistent-home' } });
  const config = new Map(result.stdout.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)] as [string, string]));
  return { status: result.status, config, stderr: result.stderr };
}

/** One value each safe option takes, as an operator would write it. */
const EXAMPLES: Record<string, string> = {
  ConnectTimeout: '5', ConnectionAttempts: '3', ServerAliveInterval: '15', ServerAliveCountMax: '4', TCPKeepAlive: 'yes',
  Compression: 'no', IdentitiesOnly: 'yes', LogLevel: 'ERROR', AddressFamily: 'inet6', StrictHostKeyChecking: 'accept-new',
  UserKnownHostsFile: '~/.ssh/known_hosts_lab',
};

test('every option on the safe list, with a usual value, is harmless here and valid for the real ssh', () => {
  assert.equal(SAFE_SSH_OPTIONS.map((o) => o.name).sort(), Object.keys(EXAMPLES).sort(), 'an example for each safe option');
  if (!requireTools('safe ssh options against ssh -G', 'ssh')) return;
  for (const [name, value] of Object.entries(EXAMPLES)) {
    assert.is(unsafeReason(`${name}=${value}`), undefined, `${name}=${value} needs no opt-in`);
    const ssh = sshG([`${name}=${value}`]);
    assert.is(ssh.status, 0, `the real ssh takes -o ${name}=${value}:\n${ssh.stderr}`);
  }
});

test('ssh reads option names in any case and "Option value", "Option=value" and "Option = value" alike: so does the check', () => {
  for (const text of ['ProxyCommand=/tmp/x', 'proxycommand=/tmp/x', 'PROXYCOMMAND=/tmp/x', 'ProxyCommand /tmp/x', 'proxyCommand = /tmp/x']) {
    assert.equal(parseSshOption(text), { name: text.trim().split(/[\s=]/)[0]!, value: '/tmp/x' }, `${text} parses as ProxyCommand /tmp/x`);
    assert.is(unsafeReason(text), 'makes ssh run commands on this machine', `${text} is refused without the opt-in`);
  }
  for (const text of ['UserKnownHostsFile=keys/known_hosts', 'UserKnownHostsFile=/srv/lab/known_hosts.lab']) {
    assert.is(unsafeReason(text), undefined, `${text}: a project's own known_hosts file needs no opt-in`);
  }
  for (const text of ['connecttimeout=5', 'CONNECTTIMEOUT=5', 'ConnectTimeout 5', 'ConnectTimeout = 5', 'StrictHostKeyChecking=ACCEPT-NEW']) {
    assert.is(unsafeReason(text), undefined, `${text} is the safe option it spells`);
  }
  if (!requireTools('ssh option spelling against ssh -G', 'ssh')) return;
  const ssh = sshG(['proxycommand=/tmp/x', 'CONNECTTIMEOUT 7', 'stricthostkeychecking = accept-new']);
  assert.is(ssh.status, 0, ssh.stderr);
  assert.is(ssh.config.get('proxycommand'), '/tmp/x', 'the real ssh takes proxycommand=… as ProxyCommand');
  assert.is(ssh.config.get('connecttimeout'), '7', 'the real ssh takes "CONNECTTIMEOUT 7"');
  assert.is(ssh.config.get('stricthostkeychecking'), 'accept-new', 'the real ssh takes "Option = value"');
});

test('options that run a program here, switch off host-key checking or write elsewhere need the opt-in, each saying why', () => {
  for (const text of ['ProxyCommand=/tmp/x', 'LocalCommand=/tmp/x', 'PermitLocalCommand=yes', 'KnownHostsCommand=/tmp/x', 'ProxyUseFdpass=yes', 'Match=exec']) {
    assert.is(unsafeReason(text), 'makes ssh run commands on this machine', text);
  }
  for (const value of ['no', 'off', 'ask', 'false']) {
    assert.match(unsafeReason(`StrictHostKeyChecking=${value}`) ?? '', /^switches host-key checking off/, `StrictHostKeyChecking=${value}`);
  }
  for (const value of ['/dev/null', 'none', '~/.bashrc', '/etc/passwd', '~/.ssh/../.profile', 'keys/known_hosts/../../.bashrc', '~/.ssh/known_hosts_%h', '${HOME}/known_hosts', 'a/known_hosts b/known_hosts']) {
    assert.match(unsafeReason(`UserKnownHostsFile=${value}`) ?? '', /^names a known-hosts file/, `UserKnownHostsFile=${value}`);
  }
  for (const text of ['ForwardAgent=yes', 'ControlPath=/tmp/x', 'SendEnv=AWS_SECRET_ACCESS_KEY', 'BatchMode=no', 'ConnectTimeout=%h']) {
    assert.ok(unsafeReason(text) !== undefined, `${text} needs the opt-in`);
  }
});

test('cluster.json: an unsafe option in transport.options is an error at its line, column and pointer, naming the remedy; in transport.unsafeOptions it loads, with a warning', () => {
  const text = `{
  "masters": [{ "name": "master1", "ip": "192.168.56.11", "host": "master1.local" }],
  "transport": {
    "kind": "ssh",
    "options": ["ConnectTimeout=5", "localcommand=/tmp/x"]
  }
}`;
  const refused = parseCluster(text, 'cluster.json');
  assert.ok(!refused.ok, 'refused');
  if (refused.ok) return;
  assert.equal(refused.problems.map(formatProblem), [
    'cluster.json:5:37  /transport/options/1  "localcommand=/tmp/x" makes ssh run commands on this machine; only options known to be harmless go in transport.options: to pass it anyway, move it to transport.unsafeOptions ("unsafeOptions": ["localcommand=/tmp/x"])',
  ]);
  const opted = parseCluster(text.replace('"options": ["ConnectTimeout=5", "localcommand=/tmp/x"]', '"options": ["ConnectTimeout=5"], "unsafeOptions": ["LocalCommand=/tmp/x y", "PermitLocalCommand=yes"]'), 'cluster.json');
  assert.ok(opted.ok, opted.ok ? '' : opted.problems.map(formatProblem).join('\n'));
  if (!opted.ok) return;
  assert.equal(opted.warnings.map(formatProblem), [
    'cluster.json:5:56  /transport/unsafeOptions/0  warning: passes the unsafe ssh option "LocalCommand=/tmp/x y" to every ssh call; every script names it in its header',
    'cluster.json:5:81  /transport/unsafeOptions/1  warning: passes the unsafe ssh option "PermitLocalCommand=yes" to every ssh call; every script names it in its header',
  ]);
  const ssh = plan(opted.cluster, { configName: 'cluster.json', configDirFromOut: '..', outDirFromConfig: 'out' }).ssh;
  const words = ssh?.args ?? [];
  assert.ok(words.join(' ').includes('-o ConnectTimeout=5 -o LocalCommand=/tmp/x y -o PermitLocalCommand=yes'), `the ssh options, safe ones first: ${JSON.stringify(words)}`);
  assert.is(words.indexOf('BatchMode=yes'), 1, 'BatchMode=yes comes first, so that no later option can undo it (ssh keeps the first value)');
});

test('an unsafe option is still one plain line of words: no quotes, $, backquotes or backslashes (a command that needs them goes in a script of its own)', () => {
  for (const value of ["ProxyCommand=sh -c 'id'", 'ProxyCommand=echo $(id)', 'ProxyCommand=echo `id`', 'LocalCommand=a\\b', 'ProxyCommand=a\nb']) {
    const loaded = parseCluster(JSON.stringify({ ...minimalCluster(1), transport: { kind: 'ssh', unsafeOptions: [value] } }), 'cluster.json');
    assert.ok(!loaded.ok && loaded.problems.some((p) => p.pointer === '/transport/unsafeOptions/0' && p.message.startsWith('must be Option=value as for ssh -o')), `${JSON.stringify(value)} is refused`);
  }
});

test('every script\'s header says which ssh options it passes, the unsafe ones loudly; vagrant\'s says cluster.json passes none', () => {
  assert.equal(connectionHeader({ kind: 'vagrant' }), ['Connects with: vagrant ssh NODE (vagrant chooses the ssh options; cluster.json passes none).']);
  const dir = tempDir('ssh-options');
  try {
    const cluster = { ...minimalCluster(1), transport: { kind: 'ssh', options: ['ConnectTimeout=5'], unsafeOptions: ['ProxyCommand=ssh -W %h:%p admin@bastion.example'] } };
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify(cluster));
    const out = join(dir.path, 'out');
    const run = runCli(['generate', '--config', config, '--out', out]);
    assert.is(run.code, 0, run.err.join('\n'));
    assert.ok(run.err.some((line) => line.includes('warning: passes the unsafe ssh option "ProxyCommand=ssh -W %h:%p admin@bastion.example"')), `generate warns:\n${run.err.join('\n')}`);
    for (const script of ['ntp.sh', 'preflight.sh', 'distribute.sh', 'verify.sh']) {
      const header = readFileSync(join(out, script), 'utf8').split('\n').slice(0, 6).join('\n');
      assert.ok(header.includes('\n# Connects with: ssh, options -o BatchMode=yes, and from transport.options in cluster.json: ConnectTimeout=5.\n'), `${script}: the safe options:\n${header}`);
      assert.ok(header.includes('\n# UNSAFE ssh options, from transport.unsafeOptions in cluster.json: ProxyCommand=ssh -W %h:%p admin@bastion.example.\n'), `${script}: the unsafe ones, loudly:\n${header}`);
      if (requireTools('unsafe ssh options: shellcheck', 'shellcheck')) {
        const checked = spawnSync('shellcheck', ['--norc', '-x', '--source-path=SCRIPTDIR', '-S', 'style', join(out, script)], { encoding: 'utf8' });
        assert.is(checked.status, 0, `${script} with an unsafe option passes shellcheck:\n${checked.stdout}`);
      }
    }
  } finally {
    dir.remove();
  }
});

test.run();
