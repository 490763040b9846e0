// The manifest's container port named `serverport` is etcd's peer port. The tutorial's name is kept (the default
// manifests must parse exactly as the tutorial's: test/seed.test.ts), so the line says what it is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../src/schema.js';

test('the port named serverport is the peer port, and its line says so', () => {
  const text = readFileSync(join(packageRoot, 'out', 'master1-etcd.manifest'), 'utf8');
  const pod = parse(text) as { spec: { containers: { ports: { name: string; containerPort: number }[] }[] } };
  const port = pod.spec.containers[0]!.ports.find((p) => p.name === 'serverport');
  assert.is(port?.containerPort, 2380, 'serverport is 2380, the peer port of the default cluster.json');
  assert.match(text, /^ {6}name: serverport # the peer port\b/m, `the line names it the peer port:\n${text}`);
});

test.run();
