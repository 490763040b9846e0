// A host that fails says why on its summary line, in ssh's own words. Run with the real ssh client against a real
// sshd on 127.0.0.1 (started here, stopped by its PID): a closed port, an unknown host key, a key the server does
// not accept. Each gives exit status 255, which alone tells the operator nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { requireTools } from './support/tools.js';
import { makeWorld, runScript, type ClusterDoc, type Run, type World } from './support/transport.js';

/** A TCP port on 127.0.0.1 that nothing listens on (bound by the kernel's choice, then released). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function listening(port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** ntp.sh --only master1, with the real ssh on PATH (the world's stand-ins left out). */
const runWithRealSsh = (world: World): Run => runScript(world, 'ntp.sh', {}, ['--only', 'master1'], { path: process.env['PATH'] ?? '/usr/bin:/bin' });

/** The world's cluster.json with master1 reached by ssh at 127.0.0.1 on PORT. */
const sshTo = (port: number, transport: Record<string, unknown>) => (cluster: ClusterDoc) => {
  cluster.masters[0]!.address = '127.0.0.1';
  cluster['transport'] = { kind: 'ssh', port, ...transport };
};

const summaryLine = (run: Run) => run.stderr.split('\n').find((line) => line.startsWith('  master1: ')) ?? '(no summary line for master1)';

test('a refused connection: the summary line says "Connection refused", as ssh did', async () => {
  if (!requireTools('ssh reasons: connection refused', 'ssh')) return;
  const port = await freePort();
  const world = makeWorld({ edit: sshTo(port, { options: ['ConnectTimeout=5'] }) });
  try {
    const run = runWithRealSsh(world);
    assert.is(run.status, 1, run.shown);
    assert.is(summaryLine(run), `  master1: install ntp and read the clock (exit status 255): ssh: connect to host 127.0.0.1 port ${port}: Connection refused`, run.shown);
  } finally {
    world.remove();
  }
});

test('a real sshd: an unknown host key says "Host key verification failed.", a key it does not accept "Permission denied (publickey)."', async () => {
  if (!requireTools('ssh reasons: a real sshd', 'ssh', 'ssh-keygen', '/usr/sbin/sshd')) return;
  if (process.getuid?.() !== 0) {
    if (process.env['CI'] === 'true') throw new Error('ssh reasons: starting sshd needs root; CI runs as root');
    console.error('\n!!!! SKIPPED ssh reasons with a real sshd: needs root to start sshd !!!!\n');
    return;
  }
  // sshd's privilege separation directory, which its service unit makes on a normal boot.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const port = await freePort();
  // A known_hosts file under ~/.ssh that does not exist: ssh with StrictHostKeyChecking=yes only reads it.
  const absent = `~/.ssh/known_hosts_etcd_bootstrap_absent_${process.pid}`;
  const world = makeWorld({ edit: sshTo(port, { options: ['StrictHostKeyChecking=yes', `UserKnownHostsFile=${absent}`, 'ConnectTimeout=5'] }) });
  let sshd: ChildProcess | undefined;
  try {
    for (const key of ['host_key', 'client_key']) {
      const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(world.dir, key)], { encoding: 'utf8' });
      assert.is(made.status, 0, made.stderr);
    }
    // No key is authorised (AuthorizedKeysFile none), and no password is asked: every login is refused.
    sshd = spawn('/usr/sbin/sshd', [
      '-D', '-e', '-f', '/dev/null', '-o', `ListenAddress=127.0.0.1:${port}`, '-o', `HostKey=${join(world.dir, 'host_key')}`, '-o', 'PidFile=none',
      '-o', 'AuthorizedKeysFile=none', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no', '-o', 'UsePAM=no',
    ], { stdio: 'ignore' });
    assert.ok(await listening(port, 5000), `sshd listens on 127.0.0.1:${port}`);

    const unknown = runWithRealSsh(world);
    assert.is(unknown.status, 1, unknown.shown);
    assert.is(summaryLine(unknown), '  master1: install ntp and read the clock (exit status 255): Host key verification failed.', unknown.shown);

    // Host-key checking off (opted into as unsafe), a key the server does not know: ssh also prints a "Permanently
    // added" notice, which is not the reason.
    const cluster = sshTo(port, {
      user: 'root', identityFile: '../client_key', options: ['IdentitiesOnly=yes', 'ConnectTimeout=5'],
      unsafeOptions: ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null'],
    });
    const doc = JSON.parse(readFileSync(world.config, 'utf8')) as ClusterDoc;
    cluster(doc);
    writeFileSync(world.config, JSON.stringify(doc));
    const generated = world.generate();
    assert.is(generated.code, 0, generated.err.join('\n'));
    const refused = runWithRealSsh(world);
    assert.is(refused.status, 1, refused.shown);
    assert.match(refused.stdout + refused.stderr, /Warning: Permanently added/, `ssh printed its notice:\n${refused.shown}`);
    assert.is(summaryLine(refused), '  master1: install ntp and read the clock (exit status 255): root@127.0.0.1: Permission denied (publickey).', refused.shown);
  } finally {
    if (sshd?.pid !== undefined) process.kill(sshd.pid);
    world.remove();
  }
});

test.run();
