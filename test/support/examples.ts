// The example clusters: the root cluster.json (the tutorial's) and every examples/NAME/cluster.json. Suites that
// check emitted files take them from here, so that a new example is checked by every suite without editing one.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from './fixtures.js';

/** The repository root (this file runs as dist/test/support/examples.js). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface Example {
  /** How tests name it: "cluster.json" for the root one, "examples/NAME" for the others. */
  name: string;
  /** Absolute path of its cluster.json. */
  config: string;
  /** Absolute path of its committed out/ directory. */
  out: string;
}

export function examples(): Example[] {
  const root: Example = { name: 'cluster.json', config: join(repoRoot, 'cluster.json'), out: join(repoRoot, 'out') };
  const dir = join(repoRoot, 'examples');
  const others = readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory() && existsSync(join(dir, name, 'cluster.json')))
    .sort()
    .map((name) => ({ name: `examples/${name}`, config: join(dir, name, 'cluster.json'), out: join(dir, name, 'out') }));
  return [root, ...others];
}

export interface Generated {
  example: Example;
  /** The freshly generated out/ directory. */
  out: string;
  /** What the generator printed on stderr (warnings). */
  err: string[];
  /** The file names in out/, sorted. */
  files: string[];
}

/**
 * Generates every example afresh from its cluster.json, each copied alone into a temporary directory, so that suites
 * check what the templates produce now rather than what was last committed (examples.test.ts checks that the
 * committed out/ is the same). The copy sits at the same depth below its out/ as the original, so the generated
 * text (headers, relative certificate paths) is byte-identical to the committed one.
 */
export function generateAll(label: string): { generated: Generated[]; remove: () => void } {
  const dir = tempDir(label);
  const generated = examples().map((example, i) => {
    const home = join(dir.path, String(i));
    const config = join(home, 'cluster.json');
    // cluster.json may name tls files; they need not exist to generate.
    mkdirSync(home);
    copyFileSync(example.config, config, 0);
    const out = join(home, 'out');
    const run = runCli(['generate', '--config', config, '--out', out]);
    if (run.code !== 0) {
      throw new Error(`generating ${example.name} failed (exit ${run.code}):\n${run.err.join('\n')}`);
    }
    const files = readdirSync(out).sort();
    return { example, out, err: run.err, files };
  });
  return { generated, remove: dir.remove };
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}
