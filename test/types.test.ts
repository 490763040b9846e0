// src/cluster.generated.ts is committed; it must be what the schema generates now.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { generatedTypesPath, readSchema, resolvedSchema, typesFor } from '../src/schema.js';

test('src/cluster.generated.ts is what `npm run types` makes from the schema now', async () => {
  const committed = readFileSync(generatedTypesPath, 'utf8');
  const fresh = await typesFor(readSchema());
  assert.ok(committed === fresh, 'src/cluster.generated.ts is stale: run `npm run types` and commit the result');
});

test('a property with a default is required in the resolved types, one without stays optional', () => {
  const resolved = resolvedSchema({
    type: 'object',
    required: ['a'],
    properties: { a: { type: 'string' }, b: { type: 'number', default: 1 }, c: { type: 'string' } },
  });
  assert.equal(resolved['required'], ['a', 'b']);
});

test('every property in the schema has a description, and every object refuses unknown properties', () => {
  type Node = { [key: string]: unknown };
  const schema = readSchema() as Node & { $defs: Record<string, Node> };
  const resolve = (node: Node): Node => {
    const ref = node['$ref'];
    return typeof ref === 'string' ? { ...schema.$defs[ref.split('/').pop() ?? '']!, ...node } : node;
  };
  const problems: string[] = [];
  const walk = (raw: Node, path: string) => {
    const node = resolve(raw);
    const properties = node['properties'] as Record<string, Node> | undefined;
    if (properties) {
      if (node['additionalProperties'] !== false) problems.push(`${path || '/'} allows unknown properties`);
      for (const [name, child] of Object.entries(properties)) {
        if (typeof resolve(child)['description'] !== 'string') problems.push(`${path}/${name} has no description`);
        walk(child, `${path}/${name}`);
      }
    }
    if (node['items']) walk(node['items'] as Node, `${path}/*`);
    for (const option of (node['oneOf'] as Node[] | undefined) ?? []) walk(option, path);
  };
  walk(schema, '');
  assert.equal(problems, [], 'an editor shows these descriptions; cluster.json is checked against additionalProperties');
});

test.run();
