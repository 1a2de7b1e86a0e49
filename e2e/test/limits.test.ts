import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, httpGet, paths, startStack, type Stack } from '@chat/devstack';

// infra/nginx.conf caps new Engine.IO sessions per client address (limit_req, burst then rate).
// A storm of handshakes from one address, against real chat servers, through both front doors.
const infra = readFileSync(paths.nginxConf, 'utf8');
const burst = Number(/limit_req\s+zone=chat_handshakes\s+burst=(\d+)/.exec(infra)?.[1]);
const ratePerSecond = Number(/zone=chat_handshakes:\S+\s+rate=(\d+)r\/s/.exec(infra)?.[1]);

/** A long-polling POST of `body` to an existing session (engine.io answers "ok" at once). */
function postToSession(url: string, sid: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = `${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
    const req = http.request(target, { method: 'POST', agent: false, headers: { 'Content-Type': 'text/plain' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(['gateway', 'nginx'] as const)('handshake limit through %s', (frontDoor) => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ frontDoor, instances: 3, chatEnv: { MAX_CONNECTIONS_PER_ADDRESS: '1000' } });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('a burst of handshakes from one address beyond the limit gets 429; a session\'s own requests and other addresses do not', async () => {
    expect(burst).toBeGreaterThan(0);
    expect(ratePerSecond).toBeGreaterThan(0);
    // nginx's workers share one zone; each gateway worker (worker_processes auto: one per CPU)
    // keeps its own, as the README's differences say, so every worker has a burst to give.
    const buckets = frontDoor === 'nginx' ? 1 : os.availableParallelism();
    const handshake = () => httpGet(`${stack.url}/socket.io/?EIO=4&transport=polling`);

    const first = await handshake();
    expect(first.status).toBe(200);
    const sid = (JSON.parse(first.body.slice(1)) as { sid: string }).sid;

    const started = Date.now();
    const storm = await Promise.all(Array.from({ length: buckets * (burst + 1) + 300 }, handshake));
    const seconds = (Date.now() - started) / 1000;
    const admitted = storm.filter((r) => r.status === 200).length;
    const refused = storm.filter((r) => r.status === 429).length;
    console.log(`${frontDoor}: ${storm.length} handshakes from 127.0.0.1 in ${seconds.toFixed(2)} s: ${admitted} admitted, ${refused} refused with 429`);
    expect(admitted + refused).toBe(storm.length);
    // The burst passes; the rate refills while the storm lasts (generously bounded).
    expect(admitted).toBeGreaterThanOrEqual(burst);
    expect(admitted).toBeLessThanOrEqual(buckets * (burst + 1 + Math.ceil((seconds + 1) * ratePerSecond)));
    expect(refused).toBeGreaterThan(0);

    // The session opened before the storm carries its sid: never limited, even now.
    for (let i = 0; i < 5; i++) expect(await postToSession(stack.url, sid, '6')).toBe(200);

    // Another address has a bucket of its own: a real client connects at once.
    const other = await connectClient(stack.url, 'elsewhere', { transportOptions: { websocket: { localAddress: '127.0.0.2' } } });
    expect(other.session.instance).toMatch(/^chat-\d$/);
    other.socket.close();
  }, 60_000);
});
