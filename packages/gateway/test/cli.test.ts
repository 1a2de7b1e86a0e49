import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanup, httpRequest, lines, onCleanup, startUpstream } from './helpers.js';

// dist/cli.js is built by test/global-setup.ts.
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const INFRA = fileURLToPath(new URL('../../../infra/nginx.conf', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gateway-cli-'));

afterEach(cleanup);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Runs the CLI to completion. */
async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('chat-gateway CLI', () => {
  it('-t accepts infra/nginx.conf (no host resolution needed)', async () => {
    const { code, stderr } = await run(['-t', '-c', INFRA]);
    expect(code).toBe(0);
    expect(stderr).toBe(
      `chat-gateway: the configuration file ${INFRA} syntax is ok\n` +
        `chat-gateway: configuration file ${INFRA} test is successful\n`,
    );
  });

  it('-t reports a bad file nginx-style and exits 1', async () => {
    const file = writeConfig('bad.conf', lines('events {}', 'http {', '  bogus on;', '}'));
    const { code, stderr } = await run(['-t', '-c', file]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `chat-gateway: [emerg] unknown directive "bogus" in ${file}:3\n` + `chat-gateway: configuration file ${file} test failed\n`,
    );
  });

  it('reads nginx.conf in the current directory by default', async () => {
    writeConfig('nginx.conf', lines('events {}'));
    const { code, stderr } = await run(['-t']);
    expect(code).toBe(0);
    expect(stderr).toContain(`the configuration file ${join(dir, 'nginx.conf')} syntax is ok`);
  });

  it.each([
    [['--bogus'], 'chat-gateway: invalid option: "--bogus"'],
    [['-c'], 'chat-gateway: option "-c" requires a file name'],
    [['--listen', '99999'], 'chat-gateway: invalid --listen value: invalid port in "99999"'],
    [['--listen'], 'chat-gateway: option "--listen" requires [ADDR:]PORT'],
    [['--resolve', 'chat-1'], 'chat-gateway: invalid --resolve value "chat-1": expected NAME:PORT=HOST:PORT'],
    [['--resolve', 'chat-1=127.0.0.1:80'], 'chat-gateway: invalid --resolve value "chat-1=127.0.0.1:80": no port in NAME:PORT "chat-1"'],
    [['--resolve', 'chat-1:3000=h:x'], 'chat-gateway: invalid --resolve value "chat-1:3000=h:x": invalid port in HOST:PORT "h:x"'],
  ])('rejects %j with one line and a usage hint', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(1);
    expect(stderr).toBe(`${message}\nRun "chat-gateway -h" for usage.\n`);
  });

  it('-h prints usage', async () => {
    const { code, stdout } = await run(['-h']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: chat-gateway');
    expect(stdout).toContain('--resolve NAME:PORT=HOST:PORT');
  });

  it('fails to start when an upstream host does not resolve', async () => {
    const file = writeConfig(
      'unresolvable.conf',
      lines('events {}', 'http {', '  upstream chat { server nope.invalid:3000; }', '  server { location / { proxy_pass http://chat; } }', '}'),
    );
    const { code, stderr } = await run(['-c', file, '--listen', '127.0.0.1:0']);
    expect(code).toBe(1);
    expect(stderr).toBe(`chat-gateway: [emerg] host not found in upstream "nope.invalid:3000" in ${file}:3\n`);
  });

  it('proxies with --resolve and --listen, and exits 0 on SIGTERM', async () => {
    const up = await startUpstream((req, res) => res.end(`upstream saw ${req.headers.host}`));
    const child = start([
      '-c', INFRA,
      '--listen', '127.0.0.1:0',
      '--resolve', `web:3000=127.0.0.1:${up.port}`,
      '--resolve', 'chat-1:3000=127.0.0.1:1',
      '--resolve', 'chat-2:3000=127.0.0.1:1',
      '--resolve', 'chat-3:3000=127.0.0.1:1',
    ]);
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /chat-gateway: listening on 127\.0\.0\.1:(\d+)\n/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
    });
    const res = await httpRequest(port, '/', { headers: { Host: 'chat.example' } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('upstream saw chat.example');

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(stderr.match(/listening on/g)).toHaveLength(1);
  });
});
