// Stage 3 of 4: Plan → the text of every file in out/, in memory. No I/O but reading templates.
//
// One Handlebars environment. Templates only place values from the plan; the two helpers here encode a value for
// where it lands (a shell word, a YAML scalar) and are tested in test/render.test.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { posix } from 'node:path';
import Handlebars from 'handlebars';
import { globbySync } from 'globby';
import type { Member, Plan } from './plan.js';

export const templatesDir = fileURLToPath(new URL('../../templates/', import.meta.url));

/** One file of out/, rendered. */
export interface RenderedFile {
  /** Relative to out/, with '/' separators. */
  path: string;
  content: string;
  /** 0o755 for scripts, 0o644 for the rest. */
  mode: number;
}

/** Characters a shell word may hold unquoted without meaning anything to bash. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word that bash reads back as exactly `value`: bare when that is safe, else single-quoted. */
export function shellWord(value: string): string {
  if (value !== '' && SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Several shell words, separated by spaces: the inside of a bash array. */
export function shellWords(values: readonly string[]): string {
  return values.map(shellWord).join(' ');
}

// Plain YAML scalars that a YAML 1.1 parser (kubelet's among them, historically) reads as something other than
// a string: booleans, null. Numbers and the like cannot match PLAIN_YAML below, which starts with a letter or '/'.
const YAML_RESERVED = /^(y|yes|n|no|true|false|on|off|null|~)$/i;
const PLAIN_YAML = /^[A-Za-z_/][A-Za-z0-9_./:=,@+-]*$/;

/**
 * A YAML scalar that any YAML parser reads back as exactly the string `value`: plain where that is unambiguous
 * (so the manifest reads like the tutorial's), otherwise double-quoted. JSON strings are valid YAML 1.2 and 1.1
 * double-quoted scalars, with the same escapes.
 */
export function yamlString(value: string): string {
  if (PLAIN_YAML.test(value) && !YAML_RESERVED.test(value) && !value.endsWith(':')) return value;
  return JSON.stringify(value);
}

/** Always double-quoted, for values the tutorial quotes and that must stay strings (`"true"`, URLs). */
export function yamlQuoted(value: string): string {
  return JSON.stringify(value);
}

function stringArgument(helper: string, value: unknown): string {
  if (typeof value !== 'string') {
    // The plan hands templates strings only; a number here would be added to its neighbour by Handlebars.
    throw new TypeError(`{{${helper}}} expects a string from the plan, got ${typeof value}`);
  }
  return value;
}

export interface TemplateSet {
  /** Per-master templates, by their path under templates/master/. */
  master: Map<string, HandlebarsTemplateDelegate>;
  /** Once-per-cluster templates, by their path under templates/cluster/. */
  cluster: Map<string, HandlebarsTemplateDelegate>;
}

/** The Handlebars environment every template is compiled in. */
export function environment(dir = templatesDir): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.registerHelper('sh', (value: unknown) => shellWord(stringArgument('sh', value)));
  hbs.registerHelper('shWords', (values: unknown) => {
    if (!Array.isArray(values)) throw new TypeError('{{shWords}} expects a list of strings from the plan');
    return shellWords(values.map((v) => stringArgument('shWords', v)));
  });
  hbs.registerHelper('yaml', (value: unknown) => yamlString(stringArgument('yaml', value)));
  hbs.registerHelper('yamlQuoted', (value: unknown) => yamlQuoted(stringArgument('yamlQuoted', value)));
  for (const file of sortedGlob('partials/**/*.hbs', dir)) {
    hbs.registerPartial(file.replace(/^partials\//, '').replace(/\.hbs$/, ''), readFileSync(posix.join(dir, file), 'utf8'));
  }
  return hbs;
}

function sortedGlob(pattern: string, dir: string): string[] {
  // globby's order depends on the file system; out/ must not.
  return globbySync(pattern, { cwd: dir, onlyFiles: true }).sort();
}

export function loadTemplates(dir = templatesDir): TemplateSet {
  const hbs = environment(dir);
  // strict: a name missing from the plan is an error, not an empty string. noEscape: nothing here is HTML, and
  // HTML escaping turns the initial-cluster list's '=' into '&#x3D;'.
  const compile = (file: string) => hbs.compile(readFileSync(posix.join(dir, file), 'utf8'), { strict: true, noEscape: true });
  const set = (kind: 'master' | 'cluster') =>
    new Map(sortedGlob(`${kind}/**/*.hbs`, dir).map((file) => [file.slice(kind.length + 1), compile(file)] as const));
  return { master: set('master'), cluster: set('cluster') };
}

/** The out/ name of a template's output: `etcd.manifest.hbs` for master1 → `master1-etcd.manifest`. */
export function outputPath(template: string, member?: Member): string {
  const name = template.replace(/\.hbs$/, '');
  if (!member) return name;
  const dir = posix.dirname(name);
  const file = `${member.name}-${posix.basename(name)}`;
  return dir === '.' ? file : posix.join(dir, file);
}

export function modeFor(path: string): number {
  return path.endsWith('.sh') ? 0o755 : 0o644;
}

/** Every file of out/, sorted by path. */
export function render(plan: Plan, templates: TemplateSet = loadTemplates()): RenderedFile[] {
  const files: RenderedFile[] = [];
  for (const [template, fill] of templates.cluster) {
    const path = outputPath(template);
    files.push({ path, content: fill(plan), mode: modeFor(path) });
  }
  for (const member of plan.members) {
    for (const [template, fill] of templates.master) {
      const path = outputPath(template, member);
      files.push({ path, content: fill({ ...plan, member }), mode: modeFor(path) });
    }
  }
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two templates both write out/${file.path}`);
    seen.add(file.path);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
