import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every nginx config committed to the repository must pass `chat-gateway -t`: the gateway
// promises to read them exactly as nginx does, or to say which line it cannot.
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const configs = execFileSync('git', ['ls-files', '*.conf'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);

describe('chat-gateway -t on the repository configs', () => {
  it('finds them', () => {
    expect(configs).toContain('infra/nginx.conf');
  });

  it.each(configs)('%s', (config) => {
    const result = spawnSync(process.execPath, [CLI, '-t', '-c', config], { cwd: root, encoding: 'utf8' });
    expect(result.stderr).toContain('test is successful');
    expect(result.status).toBe(0);
  });
});
