// Shared test scaffolding: temporary directories and clusters.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { main, type Io } from '../../src/cli.js';
import type { Cluster } from '../../src/cluster.generated.js';
import { parseCluster } from '../../src/load.js';

/** A cluster.json document, validated and with its defaults filled in, as the plan receives it; throws if invalid. */
export function loadCluster(document: unknown): Cluster {
  const result = parseCluster(JSON.stringify(document), 'cluster.json');
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.cluster;
}

export function tempDir(label: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `etcd-bootstrap-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function writeFile(path: string, content: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

/** The smallest valid cluster: everything else takes the tutorial's defaults. */
export function minimalCluster(masters = 3): { masters: { name: string; ip: string; host: string }[] } {
  return {
    masters: Array.from({ length: masters }, (_, i) => ({
      name: `master${i + 1}`,
      ip: `192.168.56.${11 + i}`,
      host: `master${i + 1}.node.local.consul`,
    })),
  };
}

/** Run the CLI in-process and keep what it printed. */
export function runCli(args: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = main(args, io);
  return { code, out, err };
}
