// The precompiled validator and templates that src/precompile.ts builds, loaded at run time, and rebuilt first
// when they are older than their sources. Light on purpose: it loads neither ajv's compiler nor Handlebars'.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { schemaPath } from './schema.js';

export const templatesDir = fileURLToPath(new URL('../../templates/', import.meta.url));
export const artifactsDir = fileURLToPath(new URL('../generated/', import.meta.url));
const precompilerPath = fileURLToPath(new URL('./precompile.js', import.meta.url));
const buildScript = fileURLToPath(new URL('../scripts/precompile.js', import.meta.url));

/** Handlebars template specs (Handlebars.precompile's output), by path below their folder under templates/. */
export interface TemplateSpecs {
  master: Record<string, object>;
  cluster: Record<string, object>;
  partials: Record<string, object>;
}

function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

/** A hash of everything the artifacts are made from: the schema, every template, and the precompiler itself. */
export function sourceHash(): string {
  // Required on first use: a run that trusts the build (scripts/generate.mjs) never hashes.
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const hash = createHash('sha256');
  const root = join(templatesDir, '..');
  for (const file of [schemaPath, precompilerPath, ...filesBelow(templatesDir)]) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function stampOf(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  // The stamp is in the first lines: read those only (the whole file is read once more when it is loaded).
  const head = Buffer.alloc(300);
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return /^\/\/ sources: ([0-9a-f]{64})$/m.exec(head.subarray(0, length).toString('utf8'))?.[1];
}

/** Whether both artifacts exist and were built from the sources as they are now. */
export function artifactsFresh(hash = sourceHash()): boolean {
  return ['validate.cjs', 'templates.cjs'].every((name) => stampOf(join(artifactsDir, name)) === hash);
}

let loaded: { validate: ValidateFunction; templates: TemplateSpecs } | undefined;
let trusted = false;

/**
 * Skip the hash of the templates and schema: for scripts/generate.mjs, which has just checked that the whole of
 * dist/ (these artifacts included) was built from the sources as they are now.
 */
export function trustBuiltArtifacts(): void {
  trusted = true;
}

/**
 * The validator and the template specs, rebuilt first if a template or the schema changed since the last build.
 * The rebuild runs in a child process: it needs the compilers, and this process should never load them.
 */
export function artifacts(): { validate: ValidateFunction; templates: TemplateSpecs } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  if (!trusted && !artifactsFresh()) {
    // Required here, not imported at the top: a run with fresh artifacts never needs it, and loading it costs time.
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const build = spawnSync(process.execPath, [buildScript], { encoding: 'utf8' });
    if (build.status !== 0 || !artifactsFresh()) {
      throw new Error(`the precompiled templates and schema in ${artifactsDir} are stale and rebuilding them failed; run \`npm run build\`.\n${build.stderr ?? ''}`);
    }
  }
  const validateModule = require(join(artifactsDir, 'validate.cjs')) as { default?: ValidateFunction } & ValidateFunction;
  loaded = {
    validate: validateModule.default ?? validateModule,
    templates: require(join(artifactsDir, 'templates.cjs')) as TemplateSpecs,
  };
  return loaded;
}
