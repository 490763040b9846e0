// npm test: run every uvu suite under dist/test, then print the one line CI reads: "N passed, N failed".
// uvu's own summary spans several coloured lines; it is passed through untouched and read here.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const uvu = fileURLToPath(new URL('../../node_modules/uvu/bin.js', import.meta.url));
// A pattern on the command line picks suites: npm test -- emit
const only = process.argv[2];
const pattern = only ? `${only.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\\.test\\.js$` : '\\.test\\.js$';
const run = spawnSync(process.execPath, [uvu, 'dist/test', pattern], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
  maxBuffer: 256 * 1024 * 1024,
});
const output = run.stdout ?? '';
process.stdout.write(output);
const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
const count = (label: string) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? 0);
const total = count('Total');
const passed = count('Passed');
const skipped = count('Skipped');
const failed = Math.max(total - passed - skipped, run.status === 0 ? 0 : 1);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = run.status === 0 && failed === 0 ? 0 : 1;
