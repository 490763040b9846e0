// Many runs at once on one out/, some killed (SIGKILL) at random moments: one run at a time holds the lock beside
// out/; a run that finds it held waits, or refuses with a clear message naming the holder; a lock or a half-built
// out/ whose run died is cleared by the next run. After each round, a plain generate gives exactly the expected out/:
// every generated file and every file placed by hand (in a subdirectory too) is there, and nothing else is left
// beside out/ (.out.new-*, .out.old-*, .out.lock*).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';
import { repoRoot } from './support/examples.js';
import { tree } from './support/tree.js';

const cli = join(repoRoot, 'dist', 'src', 'cli.js');
const ROUNDS = 100;
const RUNS = 10;

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
}

/** `node dist/src/cli.js generate --config CONFIG --out OUT`, SIGKILLed `killAfter` ms after spawning, if given. */
function generateChild(config: string, out: string, killAfter?: number): Promise<Child> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, 'generate', '--config', config, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    const timer = killAfter === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfter);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, ms: performance.now() - started });
    });
  });
}

test(`${RUNS} generates at once on one out/, ${ROUNDS} rounds, random SIGKILLs: nothing lost, no debris after the next run`, async () => {
  const dir = tempDir('concurrency');
  const started = performance.now();
  try {
    // Two cluster files writing the same out/: every file differs between them (the header names the file), and
    // master3's manifest exists only for a.json, so every run that is not up to date replaces out/ for real.
    const a = writeFile(join(dir.path, 'a.json'), JSON.stringify(minimalCluster(3), null, 2));
    const b = writeFile(join(dir.path, 'b.json'), JSON.stringify({ ...minimalCluster(2), etcd: { clusterToken: 'etcd-cluster-b' } }, null, 2));
    const out = join(dir.path, 'out');
    const first = runCli(['generate', '--config', a, '--out', out]);
    assert.is(first.code, 0, first.err.join('\n'));
    // Files placed by hand: beside the generated ones, in a subdirectory, deeper, and a symbolic link.
    writeFile(join(out, 'NOTES.txt'), 'placed by hand\n');
    for (let i = 0; i < 5; i++) writeFile(join(out, 'local', `note-${i}.txt`), `note ${i}\n`);
    writeFile(join(out, 'local', 'deep', 'hosts.txt'), '192.168.56.11 master1\n');
    symlinkSync('../a.json', join(out, 'cluster-link'));
    const expected = tree(out);
    const handPlaced = Object.keys(expected).filter((p) => p === 'NOTES.txt' || p === 'cluster-link' || p.startsWith('local/'));
    assert.ok(handPlaced.length >= 9, `hand-placed entries: ${handPlaced.join(', ')}`);

    // How long one run takes here, to spread the kills over a run's whole life.
    const timing = await generateChild(b, out);
    assert.is(timing.code, 0, timing.output);
    // Then, round after round, how long the runs that were not killed took: runs at once take longer than one alone.
    let life = timing.ms;

    const counts = { killed: 0, finishedFirst: 0, wrote: 0, upToDate: 0, busy: 0, files: 0 };
    for (let round = 1; round <= ROUNDS; round++) {
      const plan = Array.from({ length: RUNS }, () => ({
        config: Math.random() < 0.5 ? a : b,
        // Most runs are killed (a killed run costs less), at any moment from spawning to a little after runs end.
        killAfter: Math.random() < 0.6 ? Math.round(Math.random() * life * 1.5) : undefined,
      }));
      const children = await Promise.all(plan.map((p) => generateChild(p.config, out, p.killAfter)));
      const shown = (i: number) => `round ${round}, run ${i + 1} (${plan[i]!.config === a ? 'a' : 'b'}.json${plan[i]!.killAfter === undefined ? '' : `, kill at ${plan[i]!.killAfter} ms`}) exit ${children[i]!.code} signal ${children[i]!.signal}:\n${children[i]!.output}`;
      children.forEach((child, i) => {
        if (child.signal === 'SIGKILL') return void counts.killed++;
        if (plan[i]!.killAfter !== undefined) counts.finishedFirst++;
        // A run that was not killed either did its work or refused in words; never a raw error.
        assert.not.match(child.output, /ENOENT|ENOTEMPTY|EEXIST|\n\s+at /, `${shown(i)}\nexpected no raw error`);
        if (child.code === 0) {
          if (/^wrote /m.test(child.output)) counts.wrote++;
          else if (/up to date/.test(child.output)) counts.upToDate++;
          else assert.unreachable(`${shown(i)}\nexit 0 says neither "wrote" nor "up to date"`);
        } else {
          assert.is(child.code, 1, shown(i));
          assert.match(child.output, /is being generated by another etcd-bootstrap run \(pid \d+/, `${shown(i)}\nexpected exit 1 only for a busy out/`);
          counts.busy++;
        }
      });

      const lives = children.filter((c) => c.signal === null).map((c) => c.ms).sort((x, y) => x - y);
      if (lives.length > 0) life = lives[Math.floor(lives.length / 2)]!;

      // The next run, as a person would start it: it clears what dead runs left and writes a.json's out/.
      const next = runCli(['generate', '--config', a, '--out', out]);
      assert.is(next.code, 0, `round ${round}: the next run failed:\n${next.err.join('\n')}`);
      const now = tree(out);
      const missing = Object.keys(expected).filter((p) => now[p] === undefined);
      const differing = Object.keys(expected).filter((p) => now[p] !== undefined && now[p] !== expected[p]);
      const extra = Object.keys(now).filter((p) => expected[p] === undefined);
      assert.equal({ missing, differing, extra }, { missing: [], differing: [], extra: [] }, `round ${round}: out/ after the next run`);
      assert.equal(readdirSync(dir.path).sort(), ['a.json', 'b.json', 'out'], `round ${round}: nothing but out/ beside the cluster files`);
      counts.files += Object.keys(now).length;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `  concurrency: ${ROUNDS} rounds × ${RUNS} runs in ${seconds} s (one run alone ~${Math.round(timing.ms)} ms, among ${RUNS} ~${Math.round(life)} ms): ${counts.killed} killed, ${counts.finishedFirst} finished before their kill, ${counts.wrote} wrote out/, ${counts.upToDate} found it up to date, ${counts.busy} refused as busy; ${counts.files} entries counted (${handPlaced.length} placed by hand each round), none lost, no debris`,
    );
    assert.ok(counts.killed >= ROUNDS, `expected at least one kill a round on average, got ${counts.killed}`);
    assert.ok(counts.wrote >= ROUNDS, `expected runs that really replaced out/, got ${counts.wrote}`);
  } finally {
    dir.remove();
  }
});

test.run();
