// Where the schema lives and how it becomes TypeScript types. One module, so that `npm run types` and the
// drift test produce the same text from the same input.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package root: dist/src/schema.js sits two levels below it. */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
export const schemaPath = fileURLToPath(new URL('../../schema/cluster.schema.json', import.meta.url));
export const generatedTypesPath = fileURLToPath(new URL('../../src/cluster.generated.ts', import.meta.url));

/** Keywords of ours in the schema; ajv must be told about them (strict mode rejects unknown keywords). */
export const annotationKeywords = ['patternMessage'] as const;

export type JsonSchema = { [key: string]: unknown };

export function readSchema(): JsonSchema {
  return JSON.parse(readFileSync(schemaPath, 'utf8')) as JsonSchema;
}

function isSchemaObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schema as the program sees a cluster after loading: ajv's `useDefaults` has filled in every property that
 * has a `default`, so such a property is required in the generated types. Input files may still omit it.
 */
export function resolvedSchema(schema: JsonSchema): JsonSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isSchemaObject(node)) return node;
    const copy: JsonSchema = {};
    for (const [key, value] of Object.entries(node)) copy[key] = walk(value);
    const properties = node['properties'];
    if (isSchemaObject(properties)) {
      const required = new Set(Array.isArray(node['required']) ? (node['required'] as string[]) : []);
      for (const [name, property] of Object.entries(properties)) {
        if (isSchemaObject(property) && 'default' in property) required.add(name);
      }
      copy['required'] = [...required];
    }
    return copy;
  };
  return walk(schema) as JsonSchema;
}

export const generatedTypesBanner = `/* eslint-disable */
// Generated from schema/cluster.schema.json by \`npm run types\`; do not edit.
// Properties with a schema default are required here: src/load.ts fills them in before anyone reads them.
`;

/** The text of src/cluster.generated.ts for the given schema. */
export async function typesFor(schema: JsonSchema): Promise<string> {
  // Loaded here, not at the top: the generator's own run never needs the compiler.
  const { compile } = await import('json-schema-to-typescript');
  const body = await compile(resolvedSchema(schema) as Parameters<typeof compile>[0], 'Cluster', {
    bannerComment: generatedTypesBanner,
    additionalProperties: false,
    // No Prettier: the committed text must not depend on a formatter's version.
    format: false,
    declareExternallyReferenced: true,
    unreachableDefinitions: false,
  });
  return body;
}
