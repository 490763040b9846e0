// out/README.md promises only what the scripts keep: which runs are safe to repeat, which are not yet, and which
// scripts take -j. Read from the committed out/README.md of the default cluster.json (generate --check keeps it
// current).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
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

/** The scripts a README sentence lists before `phrase`: "a.sh, b.sh and c.sh take …". */
function listedBefore(phrase: string): string[] {
  const match = new RegExp(`((?:[a-z]+\\.sh(?:, | and ))*[a-z]+\\.sh) (?:also )?take ${phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).exec(flat);
  assert.ok(match, `out/README.md should say which scripts take ${phrase}:\n${readme}`);
  return match[1]!.split(/, | and /).sort();
}

/** The scripts of out/ whose --help names `option`. */
function helpNames(option: RegExp): string[] {
  const out = join(packageRoot, 'out');
  return readdirSync(out)
    .filter((f) => f.endsWith('.sh'))
    .filter((f) => option.test(spawnSync('bash', [join(out, f), '--help'], { encoding: 'utf8' }).stdout))
    .sort();
}

test('out/README.md says which scripts take --only and -j, as their --help says, and -j\'s bounds', () => {
  assert.equal(listedBefore('`--only HOST[,HOST…]`'), helpNames(/^\s+--only /m), 'the scripts README says take --only, and those whose --help has it');
  assert.equal(listedBefore('`-j N`'), helpNames(/^\s+-j, --jobs N|^\s+-j N/m), 'the scripts README says take -j, and those whose --help has it');
  assert.ok(flat.includes('also take `-j N` (hosts at a time, 1 to 64, default 8)'), readme);
});

test('out/README.md names every script in out/ and the library they share, and says to copy them together', () => {
  const shellFiles = readdirSync(join(packageRoot, 'out')).filter((f) => f.endsWith('.sh'));
  assert.ok(shellFiles.includes('lib.sh'), 'out/ holds lib.sh');
  for (const file of shellFiles) assert.ok(flat.includes(`out/${file}`) || flat.includes(` ${file}`), `out/README.md names ${file}`);
  assert.ok(flat.includes('the scripts must be copied together with lib.sh (copy `out/` whole)'), `why one library, and what it costs:\n${readme}`);
});

test.run();
