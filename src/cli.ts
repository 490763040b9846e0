#!/usr/bin/env node
// The command line: arguments → load → plan → render → emit, exit codes, and messages for a person.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dirname, relative, resolve, sep } from 'node:path';
import { formatProblem, loadClusterFile, locateInFile, type Problem } from './load.js';
import { plan } from './plan.js';
import { render } from './render.js';
import { changes, foreignFiles, readOut, recover, replaceOut, UnsupportedEntry, type Change } from './emit.js';
import { upgradeFinding } from './etcd-profile.js';

export const usage = `Usage: etcd-bootstrap generate [--config FILE] [--out DIR] [--check]

Reads cluster.json, checks it against schema/cluster.schema.json, and writes into out/ one etcd static-pod
manifest per master, the scripts ntp.sh, distribute.sh and verify.sh, and a README with the order to run them.
out/ is replaced whole, and only when something changed; a file in it that etcd-bootstrap did not write is kept.

Options:
  --config FILE  the cluster description (default: cluster.json)
  --out DIR      where to write (default: out/ beside the cluster description)
  --check        write nothing; exit 1 and list every file that would change, appear or disappear
  -h, --help     this text

Exit status: 0 done (or, with --check, out/ is up to date); 1 cluster.json has errors, or out/ is stale;
2 usage error.`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

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

  const configPath = resolve(values.config ?? 'cluster.json');
  const configShown = values.config ?? 'cluster.json';
  const configDir = dirname(configPath);
  const outDir = resolve(values.out ?? resolve(configDir, 'out'));
  const outShown = shown(outDir);

  const loaded = loadClusterFile(configShown);
  const report = (problems: Problem[]) => problems.forEach((p) => io.err(formatProblem(p)));
  if (!loaded.ok) {
    report(loaded.problems);
    const count = loaded.problems.filter((p) => p.severity === 'error').length;
    io.err(`${count} error${count === 1 ? '' : 's'} in ${configShown}; ${outShown}/ is unchanged.`);
    return 1;
  }
  report(loaded.warnings);

  const keyPath = resolve(configDir, loaded.cluster.tls.key);
  if (keyPath === outDir || keyPath.startsWith(outDir + sep)) {
    io.err(`${configShown}  /tls/key  points into ${outShown}/, which is committed: keep the private key outside it. ${outShown}/ is unchanged.`);
    return 1;
  }

  const toPosix = (p: string) => p.split(sep).join('/');
  const thePlan = plan(loaded.cluster, {
    configName: toPosix(relative(dirname(outDir), configPath)) || 'cluster.json',
    configDirFromOut: toPosix(relative(outDir, configDir)) || '.',
    outDirFromConfig: toPosix(relative(configDir, outDir)) || '.',
  });
  const rendered = render(thePlan);

  if (!values.check) for (const note of recover(outDir)) io.err(note);
  let existing: ReturnType<typeof readOut>;
  try {
    existing = readOut(outDir);
  } catch (error) {
    if (!(error instanceof UnsupportedEntry)) throw error;
    io.err(`${error.message}. ${outShown}/ is unchanged.`);
    return 1;
  }
  // The out/ being replaced says which etcd the masters run: a jump of more than one minor version is refused.
  const previous = [...existing].filter(([path, file]) => file.ours && path.endsWith('-etcd.manifest')).map(([path, file]) => ({ shown: `${outShown}/${path}`, content: file.content.toString('utf8') }));
  const upgrade = upgradeFinding(previous, loaded.cluster.etcd);
  if (upgrade) {
    report(locateInFile(configShown, [upgrade]));
    io.err(`1 error in ${configShown}; ${outShown}/ is unchanged.`);
    return 1;
  }
  const pending = changes(rendered, existing);
  for (const path of foreignFiles(rendered, existing)) {
    io.err(`warning: ${outShown}/${path} was not written by etcd-bootstrap (no generated header); it is kept, not deleted.`);
  }

  if (values.check) {
    if (pending.length === 0) {
      io.out(`${outShown}/ is up to date with ${configShown}.`);
      return 0;
    }
    pending.forEach((change) => io.err(describeChange(outShown, change)));
    const again = ['npm run generate', ...(values.config || values.out ? ['--'] : []), ...(values.config ? ['--config', values.config] : []), ...(values.out ? ['--out', values.out] : [])];
    io.err(`${outShown}/ is stale (${pending.length} file${pending.length === 1 ? '' : 's'}): run ${again.join(' ')}`);
    return 1;
  }
  if (pending.length === 0) {
    io.out(`${outShown}/ is up to date with ${configShown}; nothing written.`);
    return 0;
  }
  replaceOut(outDir, rendered, existing);
  const counts = (['new', 'changed', 'mode', 'removed'] as const)
    .map((kind) => [kind, pending.filter((c) => c.kind === kind).length] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind === 'mode' ? 'mode changed' : kind}`);
  io.out(`wrote ${outShown}/ from ${configShown}: ${counts.join(', ')}.`);
  return 0;
}

// Run only as the program, not when a test imports main().
// npx runs us through a symlink in node_modules/.bin, so compare real paths.
const invokedAs = process.argv[1] ? realpathSync(resolve(process.argv[1])) : '';
if (invokedAs && fileURLToPath(import.meta.url) === invokedAs) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`etcd-bootstrap: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
