// Paths to files on the operator's machine (tls.*, transport.identityFile) are written into the scripts relative to
// out/, normalised by the plan so that any ".." comes first; the scripts resolve them against their own physical
// directory, so a dry run prints a file's own path (pki/ca.pem, not out/../pki/ca.pem). Checked with the real bash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCluster } from '../src/load.js';
import { plan } from '../src/plan.js';
import { packageRoot } from '../src/schema.js';
import { minimalCluster, tempDir } from './support/fixtures.js';
import { requireTools } from './support/tools.js';

test('the plan writes each local path normalised, relative to out/, with every ".." first', () => {
  const cases: [string, string, string][] = [
    ['..', 'ca.pem', '../ca.pem'],
    ['..', 'pki/ca.pem', '../pki/ca.pem'],
    ['..', './pki/ca.pem', '../pki/ca.pem'],
    ['../..', 'pki/ca.pem', '../../pki/ca.pem'],
    ['../cluster', '../pki/ca.pem', '../pki/ca.pem'],
    ['..', '/etc/pki/ca.pem', '/etc/pki/ca.pem'],
  ];
  for (const [configDirFromOut, ca, expected] of cases) {
    const loaded = parseCluster(JSON.stringify({ ...minimalCluster(1), tls: { ca } }), 'cluster.json');
    assert.ok(loaded.ok, `${ca} loads`);
    if (!loaded.ok) continue;
    const fromOut = plan(loaded.cluster, { configName: 'cluster.json', configDirFromOut, outDirFromConfig: 'out' }).tls.ca.fromOut;
    assert.is(fromOut, expected, `tls.ca ${ca} with cluster.json at ${configDirFromOut} from out/`);
    assert.ok(/^(\/|(\.\.\/)*[^./])/.test(fromOut) && !/\/\.\.?\//.test(fromOut.replace(/^(\.\.\/)+/, '')), `${fromOut}: only leading ".." segments`);
  }
});

test('beside_script (the scripts\' prelude) sets the variable it is given to each path resolved against the script\'s physical directory, with no ".."', () => {
  if (!requireTools('beside_script with the real bash', 'bash')) return;
  // The script's own header (here=, then lib.sh sourced from beside it), and the library that defines beside_script.
  const script = readFileSync(join(packageRoot, 'out', 'ntp.sh'), 'utf8');
  const start = script.indexOf('set -Eeuo pipefail\n');
  const end = script.indexOf('source "$here/lib.sh"\n', start) + 'source "$here/lib.sh"\n'.length;
  assert.ok(start > 0 && end > start, 'the script sets here and sources lib.sh');
  const prelude = script.slice(start, end);
  const library = readFileSync(join(packageRoot, 'out', 'lib.sh'), 'utf8');
  assert.match(library, /^beside_script\(\) \{/m, 'the library defines beside_script');
  const dir = tempDir('local-paths');
  try {
    const real = join(dir.path, 'real', 'project', 'out');
    mkdirSync(real, { recursive: true });
    symlinkSync(join(dir.path, 'real', 'project'), join(dir.path, 'link'));
    const probe = join(real, 'probe.sh');
    writeFileSync(join(real, 'lib.sh'), library);
    writeFileSync(probe, `${prelude}\nfor p in "$@"; do beside_script resolved "$p"; printf '%s\\n' "$resolved"; done\n`);
    const project = join(dir.path, 'real', 'project');
    for (const invoked of [probe, join(dir.path, 'link', 'out', 'probe.sh')]) {
      const run = spawnSync('bash', [invoked, '../ca.pem', '../pki/ca.pem', '../../elsewhere/key.pem', 'ca.pem', '/etc/ca.pem'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', CDPATH: dir.path } });
      assert.is(run.status, 0, run.stderr);
      assert.equal(run.stdout.split('\n').slice(0, -1), [
        join(project, 'ca.pem'), join(project, 'pki', 'ca.pem'), join(dir.path, 'real', 'elsewhere', 'key.pem'), join(real, 'ca.pem'), '/etc/ca.pem',
      ], `run as ${invoked}`);
    }
  } finally {
    dir.remove();
  }
});

test.run();
