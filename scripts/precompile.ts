// npm run build runs this after tsc: precompile the schema validator and the templates into dist/generated/.
import { buildArtifacts } from '../src/precompile.js';

buildArtifacts();
