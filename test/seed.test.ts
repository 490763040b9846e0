// The default cluster.json reproduces the tutorial: each generated manifest says, as parsed YAML, exactly what the
// tutorial's own bash loop writes for the same masters. The tutorial is read from ../shared, never copied here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../src/schema.js';
import { tempDir, runCli } from './support/fixtures.js';
import { requireTools } from './support/tools.js';

const tutorialPath = join(packageRoot, '..', 'shared', 'reference', 'seed-bootstrapping-etcd.md');

/** The fenced bash blocks of the tutorial, in order. */
function bashBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

test('each default manifest equals, as YAML, what the tutorial writes for the same masters', () => {
  if (!existsSync(tutorialPath)) {
    console.error(`\n!!!! SKIPPED seed parity: ${tutorialPath} is absent (it ships beside the project, not in it) !!!!\n`);
    return;
  }
  if (!requireTools('seed parity', 'bash')) return;
  const blocks = bashBlocks(readFileSync(tutorialPath, 'utf8'));
  const masterList = blocks.find((b) => b.includes('export MASTER_LIST='));
  const manifests = blocks.find((b) => b.includes('-etcd.manifest <<EOF'));
  assert.ok(masterList, 'the tutorial has a block that builds MASTER_LIST');
  assert.ok(manifests, 'the tutorial has a block that writes masterN-etcd.manifest');

  const cluster = JSON.parse(readFileSync(join(packageRoot, 'cluster.json'), 'utf8')) as { masters: { name: string; ip: string; host: string }[] };
  cluster.masters.forEach((m, i) => {
    // The tutorial names masters masterN and reaches them as masterN.node.local.consul; the default must too.
    assert.is(m.name, `master${i + 1}`, 'the default cluster.json names its masters as the tutorial does');
    assert.is(m.host, `master${i + 1}.node.local.consul`, 'the default cluster.json uses the tutorial hosts');
  });

  const dir = tempDir('seed');
  try {
    // The tutorial reads each master's IP with `vagrant ssh masterN -- ip -4 addr show dev eth1`: a stand-in
    // vagrant answers with the default cluster's IPs, as `ip` would print them.
    const bin = join(dir.path, 'bin');
    mkdirSync(bin);
    const cases = cluster.masters.map((m) => `  ${m.name}) ip=${m.ip} ;;`).join('\n');
    writeFileSync(
      join(bin, 'vagrant'),
      `#!/usr/bin/env bash\ncase "$2" in\n${cases}\n  *) echo "unknown machine $2" >&2; exit 1 ;;\nesac\n` +
        `printf '3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\\n    inet %s/24 brd 192.168.56.255 scope global eth1\\n' "$ip"\n`,
    );
    chmodSync(join(bin, 'vagrant'), 0o755);
    const tutorial = join(dir.path, 'tutorial');
    mkdirSync(tutorial);
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', `${masterList}\n${manifests}`], {
      cwd: tutorial,
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, MASTER_NODE_COUNT: String(cluster.masters.length) },
    });
    assert.is(run.status, 0, `the tutorial's manifest loop ran: ${run.stderr}`);

    const ours = join(dir.path, 'out');
    const generated = runCli(['generate', '--config', join(packageRoot, 'cluster.json'), '--out', ours]);
    assert.is(generated.code, 0, generated.err.join('\n'));

    for (const m of cluster.masters) {
      const theirs = parse(readFileSync(join(tutorial, `${m.name}-etcd.manifest`), 'utf8')) as unknown;
      const mine = parse(readFileSync(join(ours, `${m.name}-etcd.manifest`), 'utf8')) as unknown;
      assert.equal(mine, theirs, `out/${m.name}-etcd.manifest differs from the tutorial's ${m.name}-etcd.manifest`);
    }
  } finally {
    dir.remove();
  }
});

test.run();
