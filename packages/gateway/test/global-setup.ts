import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Builds dist/ (the CLI tests spawn `node dist/cli.js`), so tests never run a stale build. */
export default function setup(): void {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  // The workspace's TypeScript, resolved from this package rather than from PATH.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: packageDir, stdio: 'inherit' });
}
