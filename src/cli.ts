#!/usr/bin/env node
// The command line: arguments → load → plan → render → emit, exit codes, and messages for a person.
import { realpathSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dirname, relative, resolve, sep } from 'node:path';
import { formatProblem, loadClusterFile, locateInFile, type Problem } from './load.js';
import { plan } from './plan.js';
import { render, shellWord } from './render.js';
import { terminalLines, terminalSafe } from './safe-text.js';
import { assertReplaceable, identityOf, lockOut, OutRefused, reachesOut, readOut, readRecord, recover, replaceOut, resolveOut, survey, withRecord, type Change, type OutTarget } from './emit.js';
import { upgradeFinding } from './etcd-profile.js';
import { keysGitWouldCommit } from './key-safety.js';
import { plainListenerWarning } from './certificates.js';

export const usage = `Usage: etcd-bootstrap generate [--config FILE] [--out DIR] [--check]

Reads cluster.json, checks it against schema/cluster.schema.json, and writes into out/ one etcd static-pod
manifest per master, the scripts ntp.sh, distribute.sh and verify.sh, and a README with the order to run them.
out/ is replaced whole, and only when something changed; a file in it that etcd-bootstrap did not write is kept
(out/.etcd-bootstrap.json records what it wrote).

Options:
  --config FILE  the cluster description (default: cluster.json)
  --out DIR      where to write (default: out/ beside the cluster description)
  --check        write nothing; exit 1 and list every file that would change, appear or disappear
  -h, --help     this text

Exit status: 0 done (or, with --check, out/ is up to date); 1 cluster.json has errors, out/ is stale, or out/
cannot be written safely (a file in the way, not writable, another run); 2 usage error (also an --out that is not
an output directory).`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

// A path or a value quoted in a message may hold anything; a terminal must never receive it as control characters.
// Written with writeSync, not process.stdout: creating those streams loads Node's stream machinery, a good part of
// a clean run's cost; and a message written before exit is never lost.
export const consoleIo: Io = { out: (l) => writeLine(1, terminalLines(l)), err: (l) => writeLine(2, terminalLines(l)) };

function writeLine(fd: number, line: string): void {
  let rest = Buffer.from(`${line}\n`);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (error) {
      // A non-blocking pipe that is full: wait for the reader rather than drop the message.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** `--config FILE` as words for a command line; `--config=FILE` when FILE starts with '-' (else it reads as an option). */
function optionWords(name: string, value: string): string[] {
  return value.startsWith('-') ? [shellWord(`--${name}=${value}`)] : [`--${name}`, shellWord(value)];
}

/** Paths in messages: relative to the working directory when inside it, as a person would type them. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function describeChange(outShown: string, change: Change): string {
  const verb = { new: 'would appear', changed: 'would change', mode: 'would change mode', removed: 'would disappear' }[change.kind];
  return `${outShown}/${change.path}  ${verb}`;
}

export function main(argv: readonly string[], io: Io = consoleIo): number {
  let values: { config?: string; out?: string; check?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        out: { type: 'string' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.err(`etcd-bootstrap: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (command !== 'generate' || rest.length > 0) {
    io.err(`etcd-bootstrap: ${command === undefined ? 'no command given' : `unknown command ${[command, ...rest].join(' ')}`}\n\n${usage}`);
    return 2;
  }
  // `--config ''` and `--config=` (an unset variable, often) name no file: a mistake in the command, not in a file.
  for (const option of ['config', 'out'] as const) {
    if (values[option] === '') {
      io.err(`etcd-bootstrap: --${option} needs a ${option === 'config' ? 'file' : 'directory'} name, and was given an empty one\n\n${usage}`);
      return 2;
    }
  }

  const configPath = resolve(values.config ?? 'cluster.json');
  // As messages show them: a line break or escape sequence in a path stays visible as an escape.
  const configShown = terminalSafe(values.config ?? 'cluster.json');
  const configDir = dirname(configPath);
  const outDir = resolve(values.out ?? resolve(configDir, 'out'));
  const outShown = terminalSafe(shown(outDir));

  let target: OutTarget;
  try {
    target = resolveOut(outDir, configPath, outShown);
  } catch (error) {
    if (!(error instanceof OutRefused)) throw error;
    io.err(`etcd-bootstrap: ${error.message}`);
    return error.usage ? 2 : 1;
  }

  const loaded = loadClusterFile(values.config ?? 'cluster.json', new Date());
  const report = (problems: Problem[]) => problems.forEach((p) => io.err(formatProblem(p)));
  if (!loaded.ok) {
    report(loaded.problems);
    const count = loaded.problems.filter((p) => p.severity === 'error').length;
    io.err(`${count} error${count === 1 ? '' : 's'} in ${configShown}; ${outShown}/ is unchanged.`);
    return 1;
  }
  report(loaded.warnings);

  const keyPath = resolve(configDir, loaded.cluster.tls.key);
  if (reachesOut(keyPath, target)) {
    io.err(`${configShown}  /tls/key  points into ${outShown}/, which is committed: keep the private key outside it. ${outShown}/ is unchanged.`);
    return 1;
  }

  const toPosix = (p: string) => p.split(sep).join('/');
  const thePlan = plan(loaded.cluster, {
    configName: toPosix(relative(dirname(outDir), configPath)) || 'cluster.json',
    configDirFromOut: toPosix(relative(outDir, configDir)) || '.',
    outDirFromConfig: toPosix(relative(configDir, outDir)) || '.',
  });
  const keyPaths = thePlan.certificates.keyFiles.map((file) => resolve(configDir, file));
  const keyInOut = keyPaths.find((key) => reachesOut(key, target));
  if (keyInOut) {
    io.err(`${configShown}  /tls  puts the private key ${terminalSafe(shown(keyInOut))} into ${outShown}/, which is committed: keep keys outside it (tls.dir, tls.caKey). ${outShown}/ is unchanged.`);
    return 1;
  }
  const plainListener = plainListenerWarning(thePlan.etcd.localClientUrl);
  if (plainListener) report(locateInFile(values.config ?? 'cluster.json', [{ severity: 'warning', ...plainListener }]));
  const unignored = keysGitWouldCommit(configDir, keyPaths);
  if (unignored.length > 0) {
    const list = unignored.map((key) => terminalSafe(shown(key))).join(', ');
    io.err(`warning: git does not ignore ${unignored.length === 1 ? 'the private key' : 'the private keys'} ${list} (tls in ${configShown}), inside the repository: one \`git add .\` would commit ${unignored.length === 1 ? 'it' : 'them'}. Add ${unignored.length === 1 ? 'it' : 'them'}, or ${terminalSafe(loaded.cluster.tls.dir)}/, to .gitignore.`);
  }
  const files = withRecord(render(thePlan));

  // --check writes nothing, so it takes no lock: it must work in a read-only checkout (CI).
  const lock = values.check ? undefined : (() => {
    try {
      assertReplaceable(target);
      return lockOut(target);
    } catch (error) {
      if (!(error instanceof OutRefused)) throw error;
      io.err(`etcd-bootstrap: ${error.message}`);
      return null;
    }
  })();
  if (lock === null) return 1;
  try {
    if (lock) for (const note of [...lock.notes, ...recover(target)]) io.err(note);
    let found: ReturnType<typeof survey>;
    let existing: ReturnType<typeof readOut>;
    try {
      existing = readOut(target.real, outShown, identityOf(keyPath), !values.check);
      found = survey(files, existing, readRecord(existing, outShown), outShown);
    } catch (error) {
      if (!(error instanceof OutRefused)) throw error;
      io.err(`etcd-bootstrap: ${error.message}`);
      return 1;
    }
    for (const path of found.foreign) {
      const named = existing.get(path)?.kind === 'directory' ? `${path}/` : path;
      io.err(`warning: ${outShown}/${named} was not written by etcd-bootstrap; it is kept, not deleted.`);
    }
    for (const path of found.disowned) {
      io.err(`warning: ${outShown}/${path} was changed by hand since etcd-bootstrap wrote it, and is no longer generated; it is kept, not deleted.`);
    }
    if (found.refused.length > 0) {
      found.refused.forEach((line) => io.err(line));
      io.err(`${outShown}/ is unchanged: ${found.refused.length} file${found.refused.length === 1 ? '' : 's'} in the way.`);
      return 1;
    }
    const pending = found.pending;
    // The out/ being replaced says which etcd the masters run: a jump of more than one minor version is refused.
    const previous = found.owned
      .filter((path) => path.endsWith('-etcd.manifest') && existing.get(path)?.kind === 'file')
      .map((path) => ({ shown: `${outShown}/${path}`, content: (existing.get(path) as { content: Buffer }).content.toString('utf8') }));
    const upgrade = upgradeFinding(previous, loaded.cluster.etcd);
    if (upgrade) {
      report(locateInFile(values.config ?? 'cluster.json', [upgrade]));
      io.err(`1 error in ${configShown}; ${outShown}/ is unchanged.`);
      return 1;
    }

    if (values.check) {
      if (pending.length === 0) {
        io.out(`${outShown}/ is up to date with ${configShown}.`);
        return 0;
      }
      pending.forEach((change) => io.err(describeChange(outShown, change)));
      const again = ['npm run generate', ...(values.config || values.out ? ['--'] : []), ...(values.config ? optionWords('config', values.config) : []), ...(values.out ? optionWords('out', values.out) : [])];
      io.err(`${outShown}/ is stale (${pending.length} file${pending.length === 1 ? '' : 's'}): run ${again.join(' ')}`);
      return 1;
    }
    if (pending.length === 0) {
      io.out(`${outShown}/ is up to date with ${configShown}; nothing written.`);
      return 0;
    }
    try {
      for (const note of replaceOut(target, files, found.owned, { beforeSwap: lock?.verify })) io.err(note);
    } catch (error) {
      io.err(`etcd-bootstrap: ${(error as Error).message}`);
      return 1;
    }
    const counts = (['new', 'changed', 'mode', 'removed'] as const)
      .map((kind) => [kind, pending.filter((c) => c.kind === kind).length] as const)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${n} ${kind === 'mode' ? 'mode changed' : kind}`);
    io.out(`wrote ${outShown}/ from ${configShown}: ${counts.join(', ')}.`);
    return 0;
  } finally {
    lock?.release();
  }
}

/** main() as a program runs it: an unexpected failure is a message and exit status 1, not a stack trace. */
export function run(argv: readonly string[]): number {
  try {
    return main(argv);
  } catch (error) {
    consoleIo.err(`etcd-bootstrap: ${(error as Error).message}`);
    return 1;
  }
}

// Run only as the program, not when a test imports main() or scripts/generate.mjs imports run().
// npx runs us through a symlink in node_modules/.bin, so compare real paths.
const invokedAs = process.argv[1] ? realpathSync(resolve(process.argv[1])) : '';
if (invokedAs && fileURLToPath(import.meta.url) === invokedAs) process.exitCode = run(process.argv.slice(2));
