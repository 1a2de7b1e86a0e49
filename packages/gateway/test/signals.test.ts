import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanup, httpRequest, lines, onCleanup, startUpstream } from './helpers.js';
import { WS_HANDSHAKE_HEADERS, wsSwitch } from './ws-keys.js';

// dist/cli.js is built by test/global-setup.ts.
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gateway-signals-'));
afterEach(cleanup);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  stderr: () => string;
}

async function launch(file: string, extra: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [CLI, '-c', file, '--listen', '127.0.0.1:0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)\n/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
  });
  return { child, port, stderr: () => stderr };
}

const body = async (port: number, path = '/') => (await httpRequest(port, path)).body;

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined as T);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met, last value: ${String(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An upstream that accepts a WebSocket handshake with 101 and then echoes. */
async function echoUpstream(): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', (head: Buffer) => {
      socket.write(wsSwitch(head.toString('latin1')));
      socket.pipe(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

/** Opens a tunnel through the gateway; resolves with a function that echoes a message. */
async function openTunnel(port: number): Promise<(text: string) => Promise<string>> {
  const socket = connect(port, '127.0.0.1');
  onCleanup(() => {
    socket.destroy();
  });
  socket.write(`GET /ws HTTP/1.1\r\nHost: x\r\n${WS_HANDSHAKE_HEADERS}\r\n`);
  let buffered = '';
  socket.on('data', (c: Buffer) => (buffered += c.toString('latin1')));
  await eventually(async () => buffered, (b) => b.includes('\r\n\r\n'));
  buffered = '';
  return async (text) => {
    socket.write(text);
    const got = await eventually(async () => buffered, (b) => b.length >= text.length);
    buffered = '';
    return got;
  };
}

const config = (workers: number, reply: string, wsPort: number, extra = '') =>
  lines(
    `worker_processes ${workers};`,
    'events {}',
    'http {',
    '  server {',
    `    location / { return 200 "${reply} $pid"; }`,
    `    location /ws { proxy_pass http://127.0.0.1:${wsPort}; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection upgrade; }`,
    `    location /slow/ { proxy_pass http://slow:1; }`,
    extra,
    '  }',
    '}',
  );

describe('signals, single process', () => {
  it('reloads on SIGHUP, keeps tunnels open, keeps the old config when the new one is bad', async () => {
    const ws = await echoUpstream();
    const file = join(dir, 'single.conf');
    writeFileSync(file, config(1, 'v1', ws));
    const gw = await launch(file, ['--resolve', 'slow:1=127.0.0.1:1']);
    expect(await body(gw.port)).toMatch(/^v1 \d+$/);
    const echo = await openTunnel(gw.port);
    expect(await echo('before')).toBe('before');

    writeFileSync(file, config(1, 'v2', ws));
    gw.child.kill('SIGHUP');
    await eventually(() => body(gw.port), (b) => b.startsWith('v2'));
    expect(await echo('after reload')).toBe('after reload');

    writeFileSync(file, lines('events {}', 'http { bogus; }'));
    gw.child.kill('SIGHUP');
    await eventually(async () => gw.stderr(), (s) => s.includes('unknown directive "bogus"'));
    expect(await body(gw.port)).toMatch(/^v2/);

    gw.child.kill('SIGTERM');
    const [code] = (await once(gw.child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('drains on SIGQUIT: a request in progress completes, then the process exits 0', async () => {
    const slow = await startUpstream((_req, res) => setTimeout(() => res.end('slow done'), 400));
    const ws = await echoUpstream();
    const file = join(dir, 'quit.conf');
    writeFileSync(file, config(1, 'q', ws));
    const gw = await launch(file, ['--resolve', `slow:1=127.0.0.1:${slow.port}`]);
    const pending = httpRequest(gw.port, '/slow/x');
    await eventually(async () => slow.requests.length + (slow.connections() > 0 ? 1 : 0), (n) => n > 0);
    gw.child.kill('SIGQUIT');
    expect((await pending).body).toBe('slow done');
    const [code] = (await once(gw.child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});

describe('worker_processes with cluster workers', () => {
  it('serves from several workers, restarts a dead one, reloads on SIGHUP, stops on SIGTERM', async () => {
    const ws = await echoUpstream();
    const file = join(dir, 'cluster.conf');
    writeFileSync(file, config(2, 'c1', ws));
    const gw = await launch(file, ['--resolve', 'slow:1=127.0.0.1:1']);
    const pidOf = async () => Number((await body(gw.port)).split(' ')[1]);
    const first = await pidOf();
    expect(first).not.toBe(gw.child.pid);
    process.kill(first, 'SIGKILL');
    // The primary forks a replacement; requests keep being served meanwhile.
    await eventually(pidOf, (pid) => pid !== first);
    await eventually(async () => gw.stderr(), (s) => s.includes(`worker process ${first} exited`));

    writeFileSync(file, config(2, 'c2', ws));
    gw.child.kill('SIGHUP');
    for (let i = 0; i < 6; i++) await eventually(() => body(gw.port), (b) => b.startsWith('c2'));

    gw.child.kill('SIGTERM');
    const [code] = (await once(gw.child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
