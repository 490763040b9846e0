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

test('out/README.md says what is not safe yet: a changed manifest reaches every master at once, and an added master is not joined', () => {
  assert.ok(flat.includes('distribute.sh puts them on every master at once, and kubelet restarts every etcd member together'), `a changed manifest:\n${readme}`);
  assert.ok(flat.includes('`out/distribute.sh --only MASTER`, then `out/verify.sh` before the next'), `the way around it, one master at a time:\n${readme}`);
  assert.ok(flat.includes('distributing it does not join it to the running cluster, which first needs `etcdctl member add`'), `an added master:\n${readme}`);
});

test('out/README.md says which scripts take -j, and its bounds', () => {
  assert.ok(flat.includes('ntp.sh, preflight.sh and distribute.sh also take `-j N` (hosts at a time, 1 to 64, default 8)'), readme);
});

test.run();
