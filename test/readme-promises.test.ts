// out/README.md promises only what the scripts keep: which runs are safe to repeat, which are not yet, and which
// scripts take -j. Read from the committed out/README.md of the default cluster.json (generate --check keeps it
// current).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/schema.js';

const readme = readFileSync(join(packageRoot, 'out', 'README.md'), 'utf8');
const flat = readme.replace(/\s+/g, ' ');

test('out/README.md makes no blanket "safe to run again" promise: it says a second run of the same out/ is safe', () => {
  assert.not.ok(/is safe to run again/.test(flat), `no blanket promise:\n${readme}`);
  assert.ok(flat.includes('**Safe: a second run of the same `out/`.** It changes nothing that is already right'), `what is safe:\n${readme}`);
});

test('out/README.md names the one command for every change after day one, how it tells bootstrap from change, and what it does when it cannot tell', () => {
  assert.ok(flat.includes('then run **`out/distribute.sh`** again: it is the one command that applies a change to a running cluster'), `the command:\n${readme}`);
  assert.ok(flat.includes('**No etcd manifest on the master yet**: the manifest is placed at once.'), `first bootstrap:\n${readme}`);
  assert.ok(flat.includes('**The same manifest already in place**: the master is not touched at all'), `unchanged:\n${readme}`);
  assert.ok(flat.includes('a master whose member leads goes last, after `etcdctl move-leader`'), `leader last:\n${readme}`);
  assert.ok(flat.includes('**When it cannot tell**') && flat.includes('`distribute.sh --all-at-once`'), `cannot tell:\n${readme}`);
  assert.not.ok(flat.includes('distribute.sh puts them on every master at once'), `the old warning is gone:\n${readme}`);
});

test('out/README.md says which scripts take -j, and its bounds', () => {
  assert.ok(flat.includes('ntp.sh, preflight.sh and distribute.sh also take `-j N` (hosts at a time, 1 to 64, default 8)'), readme);
});

test.run();
