// npm run bench: what `npm run generate` costs on an unchanged tree against `npm run` of an empty script; then how
// generate and --check cost against bare Node start-up, for clusters from the default to 7 masters with 5,000
// workers (Kubernetes' largest supported cluster) and 15 masters (the most the schema allows). It prints; it asserts nothing:
// these machines are shared, so a ratio to `node -e ''` measured in the same run is the figure to read.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist', 'src', 'cli.js');
const runs = Number(process.env['BENCH_RUNS'] ?? 7);
const work = mkdtempSync(join(tmpdir(), 'etcd-bootstrap-bench-'));

// Each measured process reports its own peak resident memory as it exits, on file descriptor 3.
const reporter = join(work, 'report-peak-memory.cjs');
writeFileSync(reporter, "process.on('exit', () => { try { require('fs').writeSync(3, String(process.resourceUsage().maxRSS)); } catch {} });\n");

interface Sample {
  ms: number;
  kib: number;
}

function measure(args: string[], before?: () => void): Sample {
  before?.();
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--require', reporter, ...args], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0 && !args.includes('--check')) throw new Error(`node ${args.join(' ')} failed:\n${run.stderr}`);
  const output = run.output[3] as string | null;
  return { ms, kib: Number(output ?? 0) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function series(args: string[], before?: () => void): { ms: number; mib: number } {
  measure(args, before); // warm-up: file-system caches
  const samples = Array.from({ length: runs }, () => measure(args, before));
  return { ms: median(samples.map((s) => s.ms)), mib: Math.max(...samples.map((s) => s.kib)) / 1024 };
}

function cluster(masters: number, workers: number): object {
  return {
    masters: Array.from({ length: masters }, (_, i) => ({
      name: `master${i + 1}`,
      ip: `10.${Math.floor(i / 250)}.${i % 250}.${10 + (i % 200)}`,
      host: `master${i + 1}.node.local.consul`,
    })),
    workers: Array.from({ length: workers }, (_, i) => ({ name: `worker${i + 1}` })),
  };
}

const cases: { label: string; config: string }[] = [{ label: 'default cluster.json (3 masters, 3 workers)', config: join(root, 'cluster.json') }];
for (const [masters, workers] of [
  [7, 0],
  [7, 500],
  [7, 5000],
  [15, 0], // the most masters the schema allows
] as const) {
  const dir = mkdtempSync(join(work, 'c-'));
  const config = join(dir, 'cluster.json');
  writeFileSync(config, JSON.stringify(cluster(masters, workers), null, 2));
  cases.push({ label: `${masters} masters, ${workers} workers`, config });
}

const bare = series(['-e', '']);
console.log(`node ${process.version}, ${runs} runs after a warm-up, median wall time; peak memory is the largest of the runs`);
console.log(`bare start-up (node -e ''): ${bare.ms.toFixed(1)} ms, ${bare.mib.toFixed(1)} MiB\n`);
try {
  benchNpm();
  benchGenerate();
  benchTransport();
} finally {
  rmSync(work, { recursive: true, force: true });
}

// ---- What the user runs: `npm run generate` on an unchanged tree ----------------------------------------------
//
// npm itself takes longer to start than the whole of generate, so the figure to read is the ratio to `npm run` of
// an empty script (package.json's "noop"): what npm costs before any script of ours runs. The target is 1.6×.

function wallMs(command: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${run.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function benchNpm(): void {
  // Once first, outside the timing: it brings out/ and dist/build-stamp.json up to date (the tree is then unchanged).
  // A tree is only "unchanged" once its files are older than the window in which a time cannot be trusted (2 s,
  // scripts/build-stamp.mjs and last-run.mjs); the build above has just written dist/, so wait that out, then
  // generate once more so that the run is remembered, as it is in a user's edit-review loop.
  wallMs('npm', ['run', '-s', 'generate']);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_200);
  wallMs('npm', ['run', '-s', 'generate']);
  const commands: [string, string, string[]][] = [
    ['npm run noop (an empty script)', 'npm', ['run', '-s', 'noop']],
    ['npm run generate', 'npm', ['run', '-s', 'generate']],
    ['node dist/src/cli.js generate', process.execPath, [cli, 'generate']],
  ];
  // Interleaved, so that a burst of load on this shared machine weighs on every command alike.
  const samples = commands.map((): number[] => []);
  for (let i = 0; i <= runs; i++) {
    commands.forEach(([, command, args], j) => {
      const ms = wallMs(command, args);
      if (i > 0) samples[j]?.push(ms); // the first round warms the file-system caches
    });
  }
  const medians = samples.map(median);
  const noop = medians[0] ?? 1;
  console.log(`\n${'on an unchanged tree, from the project root'.padEnd(44)}  ${'ms'.padStart(7)}  × npm run noop`);
  commands.forEach(([label], j) => console.log(`${label.padEnd(44)}  ${(medians[j] ?? 0).toFixed(1).padStart(7)}  ${((medians[j] ?? 0) / noop).toFixed(2).padStart(13)}`));
  console.log('');
}

function benchGenerate(): void {
  console.log(['cluster'.padEnd(44), 'generate ms', '× bare', 'MiB', '  --check ms', '× bare', 'MiB', ' cluster.json KiB'].join('  '));
  for (const { label, config } of cases) {
    const out = join(work, `out-${cases.findIndex((c) => c.config === config)}`);
    // generate into an empty directory each run, so that every run writes every file.
    const generate = series([cli, 'generate', '--config', config, '--out', out], () => rmSync(out, { recursive: true, force: true }));
    const check = series([cli, 'generate', '--check', '--config', config, '--out', out]);
    const size = readFileSync(config).length / 1024;
    console.log(
      [
        label.padEnd(44),
        generate.ms.toFixed(1).padStart(11),
        (generate.ms / bare.ms).toFixed(2).padStart(6),
        generate.mib.toFixed(1).padStart(5),
        check.ms.toFixed(1).padStart(12),
        (check.ms / bare.ms).toFixed(2).padStart(6),
        check.mib.toFixed(1).padStart(5),
        size.toFixed(1).padStart(17),
      ].join('  '),
    );
  }
}

// ---- The scripts: one round trip per host, in parallel, against the tutorial's loops --------------------------
//
// A stand-in `vagrant` sleeps 200 ms a call (a round trip to a VM) and does nothing else; both sides copy the same
// files to the same masters. The tutorial's loops are read from ../shared/reference, as written there.

/** Every bash block of the tutorial that holds `marker`, in order, as one script (the ntp install is two loops: masters, then workers). */
function tutorialBlock(markdown: string, marker: string): string | undefined {
  const blocks = [...markdown.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').filter((block) => block.includes(marker));
  return blocks.length ? blocks.join('\n') : undefined;
}

function wallSeconds(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${run.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function benchTransport(): void {
  const tutorialPath = join(root, '..', 'shared', 'reference', 'seed-bootstrapping-etcd.md');
  let markdown = '';
  try {
    markdown = readFileSync(tutorialPath, 'utf8');
  } catch {
    console.log(`\n(no ${tutorialPath}: the comparison with the tutorial's loops is skipped)`);
    return;
  }
  const copyLoop = tutorialBlock(markdown, 'vagrant scp kubernetes.pem');
  const ntpLoop = tutorialBlock(markdown, 'sudo apt-get install ntp');
  if (!copyLoop || !ntpLoop) throw new Error(`the tutorial's copy or ntp loop is missing from ${tutorialPath}`);

  const bin = join(work, 'stand-in-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'vagrant'), '#!/usr/bin/env bash\n# Stand-in: one round trip to a VM, which answers with its clock (ntp.sh reads it).\nsleep 0.2\ncat >/dev/null\nprintf "clock: %s\\n" "$(date +%s.%N)"\n', { mode: 0o755 });
  const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` };

  console.log('\nscripts against a stand-in vagrant that takes 200 ms a call: ours (one call per host, 8 hosts at a time) and the tutorial\'s loops');
  console.log(['step'.padEnd(44), 'hosts', 'ours s', 'tutorial s', 'ours faster by'].join('  '));
  // 3 masters; then 15 masters (the schema's limit) and 35 workers: 15 hosts for distribute.sh, 50 for ntp.sh.
  for (const [masters, workers] of [[3, 0], [15, 35]] as const) {
    const dir = mkdtempSync(join(work, `transport-${masters + workers}-`));
    const config = join(dir, 'cluster.json');
    writeFileSync(config, JSON.stringify(cluster(masters, workers)));
    for (const file of ['ca.pem', 'kubernetes.pem', 'kubernetes-key.pem']) writeFileSync(join(dir, file), `${file}\n`);
    const generated = spawnSync(process.execPath, [cli, 'generate', '--config', config], { encoding: 'utf8' });
    if (generated.status !== 0) throw new Error(generated.stderr);
    for (let i = 1; i <= masters; i++) writeFileSync(join(dir, `master${i}-etcd.manifest`), readFileSync(join(dir, 'out', `master${i}-etcd.manifest`)));
    const tutorialEnv = { ...env, MASTER_NODE_COUNT: String(masters), WORKER_NODE_COUNT: String(workers) };
    const rows: [string, number, number, number][] = [
      ['distribute.sh vs the tutorial\'s scp/ssh loop', masters, wallSeconds(join(dir, 'out', 'distribute.sh'), [], dir, env), wallSeconds('bash', ['-c', copyLoop], dir, tutorialEnv)],
      ['ntp.sh vs the tutorial\'s ntp loops', masters + workers, wallSeconds(join(dir, 'out', 'ntp.sh'), [], dir, env), wallSeconds('bash', ['-c', ntpLoop], dir, tutorialEnv)],
    ];
    for (const [label, count, ours, theirs] of rows) {
      console.log([label.padEnd(44), String(count).padStart(5), ours.toFixed(2).padStart(6), theirs.toFixed(2).padStart(10), `${(theirs / ours).toFixed(1)}×`.padStart(14)].join('  '));
    }
  }
}
