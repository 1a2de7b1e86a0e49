// `npm test`: every workspace's tests through turbo, then one summary line over all of them.
// Packages run one at a time: their tests start real processes, and the machines are small.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const report = 'test-results/vitest.json';
const workspaces = ['apps', 'packages']
  .flatMap((dir) => readdirSync(path.join(root, dir)).map((name) => path.join(root, dir, name)))
  .concat(path.join(root, 'e2e'));

for (const dir of workspaces) rmSync(path.join(dir, report), { force: true });

const turbo = spawnSync(
  'npx',
  ['turbo', 'run', 'test', '--concurrency=1', ...process.argv.slice(2), '--', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of workspaces) {
  const file = path.join(dir, report);
  if (!existsSync(file)) continue;
  const result = JSON.parse(readFileSync(file, 'utf8'));
  passed += result.numPassedTests;
  failed += result.numFailedTests;
  skipped += result.numPendingTests + result.numTodoTests;
}
if (turbo.status !== 0 && failed === 0) failed = 1; // a package failed before its tests could report
console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(turbo.status ?? 1);
