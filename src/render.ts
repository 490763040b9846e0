// Stage 3 of 4: Plan → the text of every file in out/, in memory. No I/O but loading the precompiled templates.
//
// One Handlebars environment. Templates only place values from the plan; the helpers here encode a value for
// where it lands (a shell word, a YAML scalar) and are tested in test/render.test.ts. The templates arrive
// precompiled (src/precompile.ts), so only Handlebars' small runtime is loaded here.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { posix } from 'node:path';
import type HandlebarsModule from 'handlebars';
import { artifacts, type TemplateSpecs } from './artifacts.js';
import type { Member, Plan } from './plan.js';
import { bashEscapedWord, hasUnsafeCharacter } from './safe-text.js';

type Handlebars = typeof HandlebarsModule;
type TemplateDelegate = HandlebarsModule.TemplateDelegate;

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
  // A line break or terminal control character (a path given on the command line may hold one) is written as an
  // escape, so that `cat` of the script shows it rather than the terminal obeying it.
  if (hasUnsafeCharacter(value)) return bashEscapedWord(value);
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Several shell words, separated by spaces: the inside of a bash array. */
export function shellWords(values: readonly string[]): string {
  return values.map(shellWord).join(' ');
}

// Plain YAML scalars that a YAML 1.1 parser (kubelet's among them, historically) reads as something other than
// a string: booleans, null. Numbers and the like cannot match PLAIN_YAML below, which starts with a letter or '/'.
const YAML_RESERVED = /^(y|yes|n|no|true|false|on|off|null|~)$/i;
// A flag (--name=value) may stay plain too: a plain scalar may start with "-" when a letter follows, not a space.
const PLAIN_YAML = /^(?:--?[A-Za-z]|[A-Za-z_/])[A-Za-z0-9_./:=,@+-]*$/;

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
  master: Map<string, TemplateDelegate>;
  /** Once-per-cluster templates, by their path under templates/cluster/. */
  cluster: Map<string, TemplateDelegate>;
}

/** The helpers every template may use; registered both at build time and at run time. */
export function registerHelpers(hbs: Handlebars): void {
  hbs.registerHelper('sh', (value: unknown) => shellWord(stringArgument('sh', value)));
  hbs.registerHelper('shWords', (values: unknown) => {
    if (!Array.isArray(values)) throw new TypeError('{{shWords}} expects a list of strings from the plan');
    return shellWords(values.map((v) => stringArgument('shWords', v)));
  });
  hbs.registerHelper('yaml', (value: unknown) => yamlString(stringArgument('yaml', value)));
  hbs.registerHelper('yamlQuoted', (value: unknown) => yamlQuoted(stringArgument('yamlQuoted', value)));
}

/** The precompiled templates, ready to fill. */
export function loadTemplates(specs: TemplateSpecs = artifacts().templates): TemplateSet {
  // The runtime-only build, one file: it loads in a fraction of the time of the full package.
  const runtime = createRequire(import.meta.url)('handlebars/dist/handlebars.runtime.min.js') as Handlebars;
  const hbs = runtime.create();
  registerHelpers(hbs);
  const template = (spec: object) => hbs.template(spec as unknown as Parameters<Handlebars['template']>[0]);
  for (const [name, spec] of Object.entries(specs.partials)) hbs.registerPartial(name, template(spec));
  const set = (group: Record<string, object>) => new Map(Object.entries(group).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, spec]) => [name, template(spec)] as const));
  return { master: set(specs.master), cluster: set(specs.cluster) };
}

/** The out/ name of a template's output: `etcd.manifest.hbs` for master1 → `master1-etcd.manifest`. */
export function outputPath(template: string, member?: Member): string {
  const name = template.replace(/\.hbs$/, '');
  if (!member) return name;
  const dir = posix.dirname(name);
  const file = `${member.name}-${posix.basename(name)}`;
  return dir === '.' ? file : posix.join(dir, file);
}

/** The library the scripts source from their own directory (templates/cluster/lib.sh.hbs): sourced, never run. */
export const LIBRARY = 'lib.sh';

export function modeFor(path: string): number {
  return path.endsWith('.sh') && path !== LIBRARY ? 0o755 : 0o644;
}

/** What the library's fingerprint stands as while the library is hashed: sha256's length, all zeros. */
export const FINGERPRINT_PLACEHOLDER = `sha256:${'0'.repeat(64)}`;

/**
 * The library, and its fingerprint: the sha256 of its text with the fingerprint written as FINGERPRINT_PLACEHOLDER.
 * Each script carries the fingerprint of the library generated with it, and the library refuses any other script
 * (templates/cluster/lib.sh.hbs), so a script never runs with functions from other inputs.
 */
export function fingerprinted(fill: TemplateDelegate, plan: Plan): { content: string; fingerprint: string } {
  const draft = fill({ ...plan, library: { fingerprint: FINGERPRINT_PLACEHOLDER } });
  const fingerprint = `sha256:${createHash('sha256').update(draft).digest('hex')}`;
  return { content: draft.replaceAll(FINGERPRINT_PLACEHOLDER, fingerprint), fingerprint };
}

/** Every file of out/, sorted by path. */
export function render(plan: Plan, templates: TemplateSet = loadTemplates()): RenderedFile[] {
  const files: RenderedFile[] = [];
  // The library first: every script names its fingerprint.
  const library = templates.cluster.get(`${LIBRARY}.hbs`);
  const { content, fingerprint } = library ? fingerprinted(library, plan) : { content: undefined, fingerprint: '' };
  if (content !== undefined) files.push({ path: LIBRARY, content, mode: modeFor(LIBRARY) });
  const context = { ...plan, library: { fingerprint } };
  for (const [template, fill] of templates.cluster) {
    const path = outputPath(template);
    if (path !== LIBRARY) files.push({ path, content: fill(context), mode: modeFor(path) });
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
