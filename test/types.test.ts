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

test.run();
