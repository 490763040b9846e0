// safe-text.ts, and what it protects: a config path holding any line break a YAML 1.1 or 1.2 parser or bash knows,
// an HTML comment's end, or a terminal control character, generates files that still parse, with the name escaped.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { bashEscapedWord, commentSafe, terminalLines, terminalSafe } from '../src/safe-text.js';
import { shellWord } from '../src/render.js';
import { RECORD_NAME } from '../src/emit.js';
import { minimalCluster, tempDir, writeFile } from './support/fixtures.js';
import { requireTools } from './support/tools.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** Each hazard, named: line breaks of bash, YAML 1.2 and YAML 1.1, and what a terminal or a Markdown reader obeys. */
const hazards: [string, string][] = [
  ['line feed', '\n'],
  ['carriage return', '\r'],
  ['next line (YAML 1.1 break)', '\u0085'],
  ['line separator (YAML 1.1 break)', '\u2028'],
  ['paragraph separator (YAML 1.1 break)', '\u2029'],
  ['vertical tab', '\u000b'],
  ['form feed', '\u000c'],
  ['escape (terminal sequences)', '\u001b[31m'],
  ['CSI (8-bit terminal sequence)', '\u009b31m'],
  ['bell', '\u0007'],
  ['NUL', '\u0000'],
  ['DEL', '\u007f'],
  ['right-to-left override', '\u202e'],
  ['byte-order mark', '\ufeff'],
  ['HTML comment end', '-->'],
  ['HTML comment end, bang form', '--!>'],
  ['backtick (ends a Markdown code span)', '`'],
];

/** What a terminal, YAML or bash would read as a line break or a control. */
const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
/** That, or the end of an HTML comment. */
const raw = new RegExp(`${control.source}|--!?>`);

test('terminalSafe and commentSafe escape every hazard visibly, and leave ordinary text alone', () => {
  for (const [name, text] of hazards) {
    const comment = commentSafe(`a${text}b`);
    assert.not.match(comment, raw, `${name}: ${JSON.stringify(comment)}`);
    assert.not.ok(comment.includes('`'), `${name}: a backtick is left in ${JSON.stringify(comment)}`);
    assert.ok(comment.startsWith('a') && comment.endsWith('b') && comment.length > 2, `${name}: the name is escaped, not dropped`);
    if (!text.startsWith('-') && text !== '`') assert.not.match(terminalSafe(`a${text}b`), raw, name);
  }
  assert.is(terminalSafe('a\nb\u0085c\u001b[0m'), 'a\\nb\\u0085c\\u001b[0m');
  assert.is(commentSafe('x --> y --!> z'), 'x --\\u003e y --!\\u003e z');
  assert.is(terminalSafe('\ud800x'), '\\ud800x', 'a lone surrogate');
  assert.is(terminalSafe('😀 née /tmp/my cluster.json'), '😀 née /tmp/my cluster.json', 'ordinary text, emoji included, is untouched');
  assert.is(terminalLines('one\ntwo\u001b'), 'one\ntwo\\u001b', 'a message keeps its own line breaks');
});

test('a shell word holding a control character is an escape bash reads back exactly, in any locale', () => {
  if (!requireTools('safe-text: bash round trip', 'bash')) return;
  for (const [name, text] of hazards) {
    if (text.includes('\u0000')) continue; // bash words cannot hold NUL
    const value = `a'b\\${text}c é`;
    const word = shellWord(value);
    assert.not.match(word, control, `${name}: ${JSON.stringify(word)}`);
    for (const locale of ['C', 'C.UTF-8']) {
      const run = spawnSync('bash', ['-c', `printf '%s' ${word}`], { encoding: 'utf8', env: { ...process.env, LC_ALL: locale } });
      assert.is(run.stdout, value, `${name} under LC_ALL=${locale}: ${word}`);
    }
  }
  assert.is(bashEscapedWord('x\n\u0085'), "$'x\\n\\xc2\\x85'");
});

test('a config path with each hazard in it: every out/ file still parses, and shows the name escaped', () => {
  if (!requireTools('safe-text: generate with hostile config paths', 'bash')) return;
  for (const [name, text] of hazards) {
    if (text.includes('\u0000')) continue; // a path cannot hold NUL: the system call refuses it
    const dir = tempDir('safe-text');
    try {
      const config = writeFile(join(dir.path, `evil${text}#touch CANARY`, 'cluster.json'), JSON.stringify(minimalCluster(1)));
      const out = join(dir.path, 'out');
      const run = spawnSync(process.execPath, [cli, 'generate', '--config', config, '--out', out], { encoding: 'utf8' });
      assert.is(run.status, 0, `${name}: ${run.stderr}`);
      assert.not.match(run.stdout + run.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e]/, `${name}: a control character reached the terminal`);
      for (const file of readdirSync(out)) {
        const content = readFileSync(join(out, file), 'utf8');
        // Nowhere in the file, not only in its header: `cat out/ntp.sh` must not drive the terminal.
        assert.not.match(content.replace(/^<!-- .* -->$/m, ''), /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e\ufeff]/, `${name}: ${file} holds a control character raw`);
        // The record of what was written (src/emit.ts) is JSON, headerless by design: checked above for raw controls.
        if (file === RECORD_NAME) continue;
        const header = content.split('\n').find((line) => line.includes('Generated by'));
        assert.ok(header, `${name}: ${file} has no header`);
        assert.ok(header.includes('evil') && header.includes('#touch CANARY'), `${name}: the name is shown in ${file}: ${header}`);
        assert.not.match(header.replace(/^<!-- | -->$/g, ''), raw, `${name}: ${file}'s header holds the hazard raw: ${JSON.stringify(header)}`);
        if (file.endsWith('.sh')) {
          const syntax = spawnSync('bash', ['-n', join(out, file)], { encoding: 'utf8' });
          assert.is(syntax.status, 0, `${name}: bash -n ${file}: ${syntax.stderr}`);
        } else if (file.endsWith('.manifest')) {
          for (const version of ['1.1', '1.2'] as const) {
            const documents = parseAllDocuments(content, { version });
            const errors = (Array.isArray(documents) ? documents : [documents]).flatMap((d) => d.errors.map((e) => e.message));
            assert.equal(errors, [], `${name}: ${file} as YAML ${version}`);
            assert.is(Array.isArray(documents) ? documents.length : 1, 1, `${name}: ${file} is one YAML ${version} document`);
          }
        } else if (file.endsWith('.md')) {
          // The header is one HTML comment on the first line, which nothing in it can end early.
          assert.match(content.split('\n')[0] ?? '', /^<!-- (?:(?!-->).)* -->$/, `${name}: README.md's header comment`);
        }
      }
    } finally {
      dir.remove();
    }
  }
});

test.run();
