// The registry this project is built against serves turbo's Linux binaries only, so `npm install`
// leaves turbo's macOS and Windows packages out of package-lock.json, and npm 11's `npm ci` then
// refuses the lockfile ("Missing: @turbo/darwin-64@ from lock file"). This adds the missing
// entries (optional, platform-gated, never installed on Linux). Run it after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const turbo = lock.packages['node_modules/turbo'];
const platforms = { 'darwin-64': ['darwin', 'x64'], 'darwin-arm64': ['darwin', 'arm64'], 'windows-64': ['win32', 'x64'], 'windows-arm64': ['win32', 'arm64'] };
let added = 0;
for (const [name, [os, cpu]] of Object.entries(platforms)) {
  const key = `node_modules/@turbo/${name}`;
  if (lock.packages[key] || !turbo?.optionalDependencies?.[`@turbo/${name}`]) continue;
  lock.packages[key] = { version: turbo.version, cpu: [cpu], dev: true, license: 'MIT', optional: true, os: [os] };
  added++;
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`lockfile: added ${added} platform entries for turbo`);
