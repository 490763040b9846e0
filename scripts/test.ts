// npm test: every uvu suite under dist/test, each in a process of its own, several at once, then the one line CI
// reads: "N passed, N failed".
//
// Most live suites wait (on etcd, sshd, kubelet's back-off) rather than compute, so running them side by side is
// what brings the suite under its time on a 2-core machine. Side by side they must not meet: as root, each suite
// runs in a network namespace of its own (`unshare --net`, loopback only, no route out), so two suites can both
// listen on 127.0.0.1:2379 or 127.0.0.11:22, as two real machines could. Without root there is no such namespace,
// and the suites run one at a time.
//
//   npm test                   every suite
//   npm test -- NAME…          the suites whose file name contains a NAME (npm test -- live: live, live-alarm, …;
//                              npm test -- members.test: that one alone)
//   ETCD_BOOTSTRAP_TEST_JOBS=N how many suites at once (default: one more than the cores, at least 3, with namespaces; else 1)
//
// A suite's output is printed whole when it ends, so two suites' lines never mix; uvu's own summary is read from
// each and added up. Each suite's time is printed at the end, and remembered in the cache directory so that the
// next run starts the longest first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const uvu = fileURLToPath(new URL('../../node_modules/uvu/bin.js', import.meta.url));
const suitesDir = join(root, 'dist', 'test');
const cacheDir = process.env['ETCD_BOOTSTRAP_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'etcd-bootstrap');
const durationsFile = join(cacheDir, 'test-durations.json');

interface Outcome {
  suite: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  /** CPU seconds, user and system, of every process of the suite. */
  cpu: number;
  output: string;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const names = process.argv.slice(2).map((name) => name.toLowerCase());
const picked = (file: string) => names.length === 0 || names.some((name) => file.toLowerCase().includes(name));
const suites = readdirSync(suitesDir).filter((file) => file.endsWith('.test.js') && picked(file));
if (suites.length === 0) {
  console.error(`npm test: no suite under dist/test has ${names.map((n) => `'${n}'`).join(' or ')} in its name`);
  process.exit(1);
}

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const isolated = process.getuid?.() === 0 && has('unshare') && has('ip');
const jobsSetting = process.env['ETCD_BOOTSTRAP_TEST_JOBS'];
// One more at once than there are cores (at least 3): a live suite alone keeps a core busy less than a third of the
// time (it waits on etcd, kubelet's back-off, a member's 5 s before it accepts a membership change), so a third
// suite fills the waits. More is worse: contention makes every suite cost more CPU. On 2 cores, once the suites
// started fewer processes: 3 at a time took 534 s of wall time and 965 s of CPU; 4 at a time, before, 15 min and 29.
const jobs = jobsSetting ? Math.max(1, Number.parseInt(jobsSetting, 10) || 1) : isolated ? Math.max(3, availableParallelism() + 1) : 1;

/** Seconds each suite took: on this machine last time, else in the run recorded in test/durations.json. */
function rememberedDurations(file: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}
const remembered = rememberedDurations(durationsFile);
const recorded = rememberedDurations(join(root, 'test', 'durations.json'));
// The longest first, so that the last to start is short (a CPU-bound suite started last was the whole run's tail).
// A suite in neither record: its size stands in for its time.
const estimate = (suite: string) => remembered[suite] ?? recorded[suite] ?? statSync(join(suitesDir, suite)).size / 500;
const queue = [...suites].sort((a, b) => estimate(b) - estimate(a) || a.localeCompare(b));

// No suite takes a tenth of this: one that does hangs, and must not hold CI until its own limit.
const SUITE_LIMIT_SECONDS = 900;

// Each suite runs in a process group of its own, which a Ctrl-C at the terminal does not reach: passed on here.
const running = new Set<number>();
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    const send = (to: NodeJS.Signals) => {
      for (const pid of running) {
        try {
          process.kill(-pid, to);
        } catch {
          // It ended meanwhile.
        }
      }
    };
    stopping = true;
    send(signal);
    // A suite's own clean-up gets a moment; whatever is left of it then is stopped outright.
    setTimeout(() => {
      send('SIGKILL');
      process.exit(130);
    }, 3000);
  });
}

const CPU_MARK = 'npm-test-cpu: ';
/** The CPU seconds (user and system) of the suite's processes, from `times`' second line, and the output without it. */
function cpuOf(output: string): { cpu: number; rest: string } {
  const at = output.lastIndexOf(CPU_MARK);
  if (at < 0) return { cpu: 0, rest: output };
  const times = [...output.slice(at).split('\n')[1]!.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { cpu: times.reduce((a, b) => a + b, 0), rest: output.slice(0, at) };
}

const count = (plain: string, label: string) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? 0);

// uvu's colours are escape codes in a log: off (kleur obeys NO_COLOR; FORCE_COLOR would overrule it).
const { FORCE_COLOR: _forced, ...withoutColour } = process.env;

function runSuite(suite: string): Promise<Outcome> {
  const started = process.hrtime.bigint();
  const command = [process.execPath, uvu, 'dist/test', `^${escape(suite)}$`];
  // In its own network namespace, loopback up: the suite's addresses and ports are its own. The shell around it
  // reports the CPU time the suite used (its processes', waited for: `times`), which says which suites compete for
  // the cores and which only wait.
  const shell = `${isolated ? 'ip link set lo up || exit 1; ' : ''}"$@"; status=$?; printf '${CPU_MARK}' >&2; times >&2; exit $status`;
  const words = [...(isolated ? ['unshare', '--net', '--'] : []), 'sh', '-c', shell, 'sh', ...command];
  return new Promise((resolve) => {
    // A process group of its own, so that a suite that hangs can be stopped with everything it started.
    const child = spawn(words[0]!, words.slice(1), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...withoutColour, NO_COLOR: '1' },
      detached: true,
    });
    running.add(child.pid!);
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // It ended meanwhile.
      }
    }, SUITE_LIMIT_SECONDS * 1000);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('close', (status, signal) => {
      clearTimeout(limit);
      running.delete(child.pid!);
      if (timedOut) output += `\nnpm test: ${suite} still ran after ${SUITE_LIMIT_SECONDS} s: stopped, with every process it started\n`;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const { cpu, rest } = cpuOf(output);
      output = rest;
      const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
      // uvu's Total counts the tests that ran, skipped ones not included.
      const total = count(plain, 'Total');
      const passed = count(plain, 'Passed');
      const skipped = count(plain, 'Skipped');
      // A suite that ended without its summary (it crashed, or was killed) failed, whatever it printed.
      const crashed = status !== 0 || !/^\s*Total:/m.test(plain);
      const failed = Math.max(total - passed, crashed ? 1 : 0);
      const ending = crashed && total === passed ? `\nnpm test: ${suite} ended with ${signal ? `signal ${signal}` : `exit status ${status}`} before all was reported\n` : '';
      resolve({ suite, passed, failed, skipped, seconds, cpu, output: output + ending });
    });
  });
}

const outcomes: Outcome[] = [];
const started = Date.now();
console.log(`npm test: ${suites.length} suite${suites.length === 1 ? '' : 's'}, ${jobs} at a time${isolated ? ', each in a network namespace of its own' : ''}`);
async function worker(): Promise<void> {
  for (let suite = queue.shift(); suite && !stopping; suite = queue.shift()) {
    const outcome = await runSuite(suite);
    process.stdout.write(`\n==== ${suite} (${outcome.seconds.toFixed(1)} s)\n${outcome.output}`);
    outcomes.push(outcome);
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, suites.length) }, worker));

try {
  mkdirSync(cacheDir, { recursive: true });
  const durations = { ...remembered, ...Object.fromEntries(outcomes.map((o) => [o.suite, Math.round(o.seconds * 10) / 10])) };
  writeFileSync(durationsFile, `${JSON.stringify(durations, null, 2)}\n`);
} catch {
  // Only the order of the next run depends on it.
}

const sum = (pick: (o: Outcome) => number) => outcomes.reduce((total, o) => total + pick(o), 0);
console.log('\nsuite times (longest first), and the CPU time each used:');
for (const o of [...outcomes].sort((a, b) => b.seconds - a.seconds)) {
  const mark = o.failed ? `  FAILED ${o.failed}` : o.skipped ? `  skipped ${o.skipped}` : '';
  console.log(`  ${o.seconds.toFixed(1).padStart(7)} s  ${o.cpu.toFixed(1).padStart(7)} s CPU  ${o.suite}${mark}`);
}
const cores = availableParallelism();
console.log(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s  ${sum((o) => o.cpu).toFixed(1).padStart(7)} s CPU  in all (${sum((o) => o.seconds).toFixed(1)} s of suites, ${jobs} at a time, ${cores} core${cores === 1 ? '' : 's'})`);
const skipped = sum((o) => o.skipped);
if (skipped) console.log(`${skipped} skipped: the notices above say what each needs`);
const failed = sum((o) => o.failed);
console.log(`${sum((o) => o.passed)} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
