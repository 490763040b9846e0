// The stand-in docker (test/support/transport.ts) answers verify.sh's etcdctl calls as a healthy cluster would. It
// accepts any arguments, so on its own it would hide a flag the real docker refuses. Here every docker call that
// verify.sh made through it is given to the real docker client, which parses all its flags before it looks for a
// daemon: pointed at a socket that does not exist, an accepted command line fails only for want of the daemon.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { remoteLog, runScript, withWorld } from './support/transport.js';

withWorld('every docker command line verify.sh sends a master is one the real docker client accepts', (world) => {
  const run = runScript(world, 'verify.sh');
  assert.is(run.status, 0, run.shown);
  const dockerCalls = remoteLog(world).filter(([, tool]) => tool === 'docker').map(([, , ...words]) => words);
  assert.ok(dockerCalls.length >= 2, `verify.sh ran docker for member list and endpoint health:\n${run.shown}`);
  for (const words of dockerCalls) {
    const real = spawnSync('docker', words, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/etcd-bootstrap-test.sock' } });
    assert.match(real.stderr, /Cannot connect to the Docker daemon/, `the real docker refused docker ${words.join(' ')}:\n${real.stderr}`);
    assert.not.match(real.stderr, /unknown (flag|shorthand)|invalid argument/, `docker ${words.join(' ')}:\n${real.stderr}`);
  }
}, { tools: ['docker'] });

test.run();
