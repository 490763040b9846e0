// Whether git would take a private key into a commit: the CLI's edge asks git itself (`git check-ignore`), since
// only git knows every .gitignore, info/exclude and core.excludesFile that applies. No git, no repository, or a key
// outside it: nothing to say.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';

/** The work tree holding `dir` (the nearest directory upward with a .git), or undefined. */
export function workTreeOf(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, '.git'))) return at;
    if (dirname(at) === at) return undefined;
  }
}

/**
 * The absolute paths among `keys` that lie inside the git work tree of `configDir` and that git does not ignore.
 * They need not exist yet: certs.sh may write them later, and `git add .` would then take them.
 */
export function keysGitWouldCommit(configDir: string, keys: readonly string[]): string[] {
  const top = workTreeOf(configDir);
  if (!top) return [];
  const inside = keys.filter((key) => {
    const rel = relative(top, key);
    return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
  });
  if (inside.length === 0) return [];
  // Required here, not imported: node:child_process (and the stream modules it loads) costs a run with no key inside a
  // work tree a twentieth of Node's start-up, for nothing.
  const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  // One call for every key: --non-matching with --verbose prints every path, with "::" before one no rule ignores.
  const answer = spawnSync('git', ['-C', top, 'check-ignore', '--non-matching', '--verbose', '--stdin', '-z'], {
    input: inside.map((key) => relative(top, key)).join('\0') + '\0',
    encoding: 'utf8',
    timeout: 5_000,
  });
  // git missing (ENOENT), or a failure of git's own (exit 128): say nothing rather than something wrong.
  if (answer.error || (answer.status !== 0 && answer.status !== 1)) return [];
  // -z --verbose: SOURCE\0LINENUM\0PATTERN\0PATHNAME\0 per path; an empty SOURCE means no rule matched. A negated
  // pattern (!x) that matched means the path is not ignored either.
  const fields = answer.stdout.split('\0');
  const unignored: string[] = [];
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source, , pattern, path] = fields.slice(i, i + 4) as [string, string, string, string];
    if (source === '' || pattern.startsWith('!')) unignored.push(join(top, path));
  }
  return unignored;
}
