// npm run types: regenerate src/cluster.generated.ts from schema/cluster.schema.json.
import { writeFileSync } from 'node:fs';
import { generatedTypesPath, readSchema, typesFor } from '../src/schema.js';

writeFileSync(generatedTypesPath, await typesFor(readSchema()));
console.log(`wrote ${generatedTypesPath}`);
