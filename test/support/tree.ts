// Everything under a directory, as a flat record: what "nothing lost, nothing changed" is checked against.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Relative path → "MODE content" for a file, "dir MODE" (path with a trailing /) for a directory, "-> target" for a link. */
export function tree(dir: string): Record<string, string> {
  const all: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const stat = lstatSync(join(dir, path));
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isDirectory()) {
        all[`${path}/`] = `dir ${mode}`;
        walk(path);
      } else if (stat.isSymbolicLink()) all[path] = `-> ${readlinkSync(join(dir, path))}`;
      else all[path] = `${mode} ${readFileSync(join(dir, path), 'utf8')}`;
    }
  };
  if (existsSync(dir)) walk('');
  return all;
}
