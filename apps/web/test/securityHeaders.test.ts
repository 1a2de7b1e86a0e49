import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, httpGet, paths, spawnManaged, startWeb, untilReady, waitUntil, type ManagedProcess } from '@chat/devstack';
import { contentSecurityPolicy, securityHeaders } from '../lib/securityHeaders';

describe('contentSecurityPolicy', () => {
  it('allows scripts by nonce only, and nothing unsafe in production', () => {
    const policy = contentSecurityPolicy('abc');
    expect(policy).toBe(
      "default-src 'self'; script-src 'self' 'nonce-abc' 'strict-dynamic'; style-src 'self' 'nonce-abc'; img-src 'self'; " +
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  it('adds what `next dev` needs in development', () => {
    const policy = contentSecurityPolicy('abc', { dev: true });
    expect(policy).toContain("script-src 'self' 'nonce-abc' 'strict-dynamic' 'unsafe-eval';");
    expect(policy).toContain("style-src 'self' 'unsafe-inline';");
  });
});

/** Every server the app ships with; both run the BUILT app (`next build` first). */
const servers: Record<string, () => Promise<{ url: string; stop(): Promise<void> }>> = {
  'next start': () => startWeb(),
  // As infra/docker/web.Dockerfile runs it.
  'the standalone server': async () => {
    const port = await freePort();
    const proc: ManagedProcess = spawnManaged('web-standalone', process.execPath, [path.join(paths.webApp, '.next/standalone/apps/web/server.js')], {
      env: { PORT: String(port), HOSTNAME: '127.0.0.1', NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
    });
    const url = `http://127.0.0.1:${port}`;
    await untilReady(proc, waitUntil('the standalone web server', async () => (await httpGet(url)).status === 200, 30_000));
    return { url, stop: () => proc.stop() };
  },
};

describe.each(Object.keys(servers))('the security headers, served by %s', (server) => {
  let web: { url: string; stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    web = await servers[server]!();
  }, 60_000);

  afterAll(async () => {
    await web?.stop();
  }, 60_000);

  async function get(pathname: string): Promise<{ status: number; headers: Headers; body: string }> {
    const response = await fetch(`${web!.url}${pathname}`);
    return { status: response.status, headers: response.headers, body: await response.text() };
  }

  function nonceOf(headers: Headers): string {
    const match = /script-src 'self' 'nonce-([A-Za-z0-9+/]{22}==)' 'strict-dynamic'/.exec(headers.get('content-security-policy') ?? '');
    if (!match) throw new Error(`no nonce in ${headers.get('content-security-policy')}`);
    return match[1]!;
  }

  it('gives the page a Content-Security-Policy whose nonce is on every script, fresh per response', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    const nonce = nonceOf(page.headers);
    expect(page.headers.get('content-security-policy')).toBe(contentSecurityPolicy(nonce));
    const scripts = page.body.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(script).toContain(`nonce="${nonce}"`);

    const again = await get('/');
    expect(nonceOf(again.headers)).not.toBe(nonce);
  });

  it('sends the other security headers with the page, its static files and a 404', async () => {
    const page = await get('/');
    const script = /<script src="(\/_next\/static\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const missing = await get('/no-such-page');
    expect(missing.status).toBe(404);
    // The 404 page has scripts too: it gets a policy of its own.
    expect(missing.headers.get('content-security-policy')).toBe(contentSecurityPolicy(nonceOf(missing.headers)));

    const responses = [page, missing];
    // The standalone server ships without its static files (the Dockerfile copies them in).
    if (server === 'next start') responses.push(await get(script!));
    for (const { headers } of responses) {
      for (const { key, value } of securityHeaders) expect(headers.get(key), key).toBe(value);
    }
  });
});
