import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type FrontDoor } from '@chat/devstack';

// Runs against the BUILT app (`next build` first), served by `next start`.
describe('the web app', () => {
  let web: FrontDoor | undefined;

  beforeAll(async () => {
    web = await startWeb();
  }, 60_000);

  afterAll(async () => {
    await web?.stop();
  }, 60_000);

  it('serves the chat page with its title and the Name field', async () => {
    const response = await fetch(`${web!.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-powered-by')).toBeNull();
    const html = await response.text();
    expect(html).toContain('<title>Chat</title>');
    expect(html).toMatch(/<label[^>]*for="name"[^>]*>Name<\/label>/);
    expect(html).toMatch(/<input[^>]*id="name"/);
  }, 60_000);
});
