// Every script etcd-bootstrap emits, for every example cluster, is clean under `shellcheck -S style` (every
// severity, down to style) and parses with `bash -n`; so is the library they all source (out/lib.sh), which
// shellcheck checks on its own: following a `source`, it reads the sourced file for its definitions only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools } from './support/tools.js';
import { tempDir, writeFile } from './support/fixtures.js';
import { generateAll, read } from './support/examples.js';
import { LIBRARY } from '../src/render.js';

const { generated, remove } = generateAll('shell');
test.after(remove);

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

test('every example emits ntp.sh, preflight.sh, distribute.sh and verify.sh, and the library they source', () => {
  for (const { example, files } of generated) {
    for (const script of ['distribute.sh', 'ntp.sh', 'preflight.sh', 'verify.sh', LIBRARY]) {
      assert.ok(files.includes(script), `${example.name}: expected out/${script}; out/ holds ${files.join(', ')}`);
    }
  }
});

test('shellcheck -S style is able to fail: a script with an unquoted expansion is reported', () => {
  if (!requireTools('shellcheck is able to fail', 'shellcheck')) return;
  const dir = tempDir('shell');
  try {
    const bad = writeFile(join(dir.path, 'bad.sh'), '#!/usr/bin/env bash\nrm $1\n');
    const result = run('shellcheck', ['-S', 'style', bad]);
    assert.is.not(result.status, 0, `expected shellcheck to reject an unquoted $1; it passed with:\n${result.output}`);
    assert.match(result.output, /SC2086/);
  } finally {
    dir.remove();
  }
});

test('bash -n is able to fail: a script with an unclosed if is reported', () => {
  if (!requireTools('bash -n is able to fail', 'bash')) return;
  const dir = tempDir('shell');
  try {
    const bad = writeFile(join(dir.path, 'bad.sh'), '#!/usr/bin/env bash\nif true; then\n  echo hi\n');
    assert.is.not(run('bash', ['-n', bad]).status, 0, 'expected bash -n to reject an if without fi');
  } finally {
    dir.remove();
  }
});

for (const { example, out, files } of generated) {
  for (const script of files.filter((f) => f.endsWith('.sh'))) {
    const path = join(out, script);
    const label = `${example.name}: out/${script}`;

    test(`${label} passes shellcheck -S style with no finding`, () => {
      if (!requireTools(`${label} shellcheck`, 'shellcheck')) return;
      // --norc: only the script's own directives count, not a developer's ~/.shellcheckrc. -x with the script's
      // directory as the source path: the script is checked with the library it sources (every function and variable
      // it uses from there is known, and a source that does not resolve is a finding).
      const result = run('shellcheck', ['--norc', '-x', '--source-path=SCRIPTDIR', '-S', 'style', '--format', 'gcc', path]);
      assert.is(result.status, 0, `expected no findings from shellcheck -S style ${script} (${example.name}); got:\n${result.output}`);
    });

    test(`${label} parses with bash -n`, () => {
      if (!requireTools(`${label} bash -n`, 'bash')) return;
      const result = run('bash', ['-n', path]);
      assert.is(result.status, 0, `expected bash -n ${script} (${example.name}) to pass; got:\n${result.output}`);
    });

    if (script === LIBRARY) {
      test(`${label} is a library: it says its shell for shellcheck, runs nothing before it checks which script sources it, and is not executable`, () => {
        const lines = read(path).split('\n');
        assert.is(lines[0], '# shellcheck shell=bash', `first line of ${script}`);
        const firstCommand = lines.findIndex((line) => line !== '' && !line.startsWith('#'));
        assert.match(lines[firstCommand] ?? '', /^if \[\[ \$\{library-\} != sha256:[0-9a-f]{64} \]\]; then$/, `the first command of ${script} checks the script's fingerprint`);
        const mode = statSync(path).mode & 0o777;
        assert.is(mode, 0o644, `expected mode 0644 on ${script}; got 0${mode.toString(8)}`);
      });
    } else test(`${label} starts with #!/usr/bin/env bash and set -Eeuo pipefail, sources the library beside it, and is executable`, () => {
      const lines = read(path).split('\n');
      assert.ok(lines.includes('# shellcheck source=lib.sh') && lines.includes('source "$here/lib.sh"'), `expected ${script} to source lib.sh from its own directory`);
      assert.is(lines[0], '#!/usr/bin/env bash', `first line of ${script}`);
      assert.ok(lines.includes('set -Eeuo pipefail'), `expected a line "set -Eeuo pipefail" in ${script}`);
      const mode = statSync(path).mode & 0o777;
      assert.is(mode, 0o755, `expected mode 0755 on ${script}; got 0${mode.toString(8)}`);
    });

    test(`${label} disables no shellcheck check without a reason on the same line`, () => {
      const unexplained = read(path)
        .split('\n')
        .map((line, i) => ({ line, number: i + 1 }))
        .filter(({ line }) => /#\s*shellcheck\s+disable=/.test(line) && !/disable=[A-Z0-9,]+\s+#?\s*\S/.test(line));
      assert.equal(unexplained, [], `a "shellcheck disable" needs its reason on the same line`);
    });
  }
}

test('a script refuses, with exit 2 and before it does anything, a lib.sh generated from other inputs, a missing one, and lib.sh run on its own', () => {
  if (!requireTools('the library check', 'bash')) return;
  const [first, second] = generated;
  assert.ok(first && second, 'two examples');
  const dir = tempDir('shell-library');
  try {
    const out = join(dir.path, 'out');
    cpSync(first.out, out, { recursive: true });
    const script = join(out, 'verify.sh');
    const runScript = (args: string[] = ['--dry-run']) => spawnSync('bash', [script, ...args], { encoding: 'utf8', cwd: dir.path });
    // As generated: the two go together (a dry run prints what it would do).
    const matched = runScript();
    assert.is(matched.status, 0, `verify.sh --dry-run with its own lib.sh:\n${matched.stdout}${matched.stderr}`);
    // Another cluster's library: refused, naming both files and the remedy, before any step.
    copyFileSync(join(second.out, LIBRARY), join(out, LIBRARY));
    const other = runScript();
    assert.is(other.status, 2, `exit 2 with another cluster's lib.sh:\n${other.stdout}${other.stderr}`);
    assert.is(other.stdout, '', 'nothing done, nothing announced');
    assert.ok(other.stderr.includes(script) && other.stderr.includes(join(out, LIBRARY)) && other.stderr.includes('npm run generate'), `names both files and says to generate again:\n${other.stderr}`);
    // No library at all.
    rmSync(join(out, LIBRARY));
    const missing = runScript();
    assert.is(missing.status, 2, `exit 2 without lib.sh:\n${missing.stderr}`);
    assert.is(missing.stdout, '');
    assert.ok(missing.stderr.includes(join(out, LIBRARY)) && missing.stderr.includes('copy the scripts together with lib.sh'), missing.stderr);
    // The library run as a script.
    const alone = spawnSync('bash', [join(first.out, LIBRARY)], { encoding: 'utf8' });
    assert.is(alone.status, 2, alone.stderr);
    assert.match(alone.stderr, /is sourced by the scripts beside it, not run on its own/);
  } finally {
    dir.remove();
  }
});

test.run();
