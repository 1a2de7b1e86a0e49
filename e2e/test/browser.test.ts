import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';
import { connectClient, startStack, type ConnectedClient, type Stack } from '@chat/devstack';

// The real thing in a real browser: Debian's Chromium driven by playwright-core (never a
// downloaded browser), the BUILT web app (`next build` first; turbo does it in CI), three chat
// servers sharing Redis, and the front door reading infra/nginx.conf.
const FRONT_DOOR = 'gateway' as const;
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));
/** Generous: the CI machine may be slow, and every wait is on visible UI state. */
const UI_TIMEOUT = 15_000;

const sideRoom = 'e2e-side';
const historyRoom = 'e2e-scrollback';
const xssText = '<b>bold</b> and <img src=x onerror=alert(1)> and javascript:alert(2) and https://example.com/docs?q=1&r=2.';
const safeLink = 'https://example.com/docs?q=1&r=2';

describe(`the chat in Chromium, through ${FRONT_DOOR}`, () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const seeders: ConnectedClient[] = [];
  /** Uncaught page errors and alert() calls: both must stay empty. */
  const pageErrors: string[] = [];
  /**
   * Console errors (a hydration mismatch, a failed request), reconnect noise aside: WebSocket
   * errors, and requests Socket.IO tries while the test holds the browser offline.
   */
  const consoleErrors: string[] = [];
  /** Whatever the Content-Security-Policy refused: must stay empty. */
  const cspViolations: string[] = [];
  const dialogs: string[] = [];
  let ada: Page;
  let bob: Page;

  async function newPage(name: string, options: BrowserContextOptions = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
    page.on('console', (message) => {
      if (isCspViolation(message.text())) cspViolations.push(`${name}: ${message.text()}`);
      else if (message.type() === 'error' && !isReconnectNoise(message.text())) consoleErrors.push(`${name}: ${message.text()} (${message.location().url})`);
    });
    page.on('dialog', (dialog) => {
      dialogs.push(`${name}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    return page;
  }

  async function shot(page: Page, file: string): Promise<void> {
    await page.screenshot({ path: `${artifacts}${file}.png`, animations: 'disabled' });
  }

  /** The connection badge once connected and upgraded from long-polling, e.g. `websocket · chat-2`. */
  function badge(page: Page): Locator {
    return page.getByTestId('connection-detail');
  }

  async function instanceOf(page: Page): Promise<string> {
    await expectVisible(badge(page).filter({ hasText: /^websocket · / }));
    const text = (await badge(page).textContent()) ?? '';
    const match = /^websocket · (chat-\d+)$/.exec(text.trim());
    if (!match) throw new Error(`unexpected connection badge: ${JSON.stringify(text)}`);
    return match[1]!;
  }

  async function signIn(page: Page, name: string): Promise<void> {
    await page.goto(stack.url);
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await expectVisible(badge(page));
  }

  function messageField(page: Page): Locator {
    return page.getByLabel('Message', { exact: true });
  }

  function conversation(page: Page): Locator {
    return page.getByRole('log', { name: 'Conversation' });
  }

  function roomButton(page: Page, room: string): Locator {
    return page.locator(`.sidebar button[data-room="${room}"]`);
  }

  function onlineMembers(page: Page): Locator {
    return page.getByRole('list', { name: 'Online members' });
  }

  async function send(page: Page, text: string, via: 'button' | 'enter' = 'button'): Promise<void> {
    await messageField(page).fill(text);
    if (via === 'enter') await messageField(page).press('Enter');
    else await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expectVisible(conversation(page).locator('li.msg-own[data-status="sent"]', { hasText: text.slice(0, 40) }));
  }

  async function joinRoom(page: Page, room: string): Promise<void> {
    await page.getByLabel('Room', { exact: true }).fill(room);
    await page.getByLabel('Room', { exact: true }).press('Enter');
    await expectVisible(page.getByRole('heading', { level: 2, name: room, exact: true }));
  }

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    stack = await startStack({ frontDoor: FRONT_DOOR, web: true, instances: 3 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  });

  afterAll(async () => {
    for (const { socket } of seeders) socket.close();
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await stack?.stop();
  });

  it('serves the page with a strict Content-Security-Policy, which refuses inline handlers and eval', async () => {
    // A page of its own: the violations provoked here are expected ones.
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    const refused: string[] = [];
    page.on('console', (message) => {
      if (isCspViolation(message.text())) refused.push(message.text());
    });

    const response = await page.goto(stack.url);
    const headers = response!.headers();
    const policy = headers['content-security-policy'] ?? '';
    expect(policy).toMatch(/(^|; )script-src 'self' 'nonce-[A-Za-z0-9+/]{22}==' 'strict-dynamic'(;|$)/);
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe-');
    expect(headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'cross-origin-opener-policy': 'same-origin' });
    // The Name field shows once the page's scripts ran: the nonce let Next.js's scripts in.
    await expectVisible(page.getByLabel('Name'));
    expect(refused).toEqual([]);

    // Markup that did become HTML would still run nothing: its inline event handler is refused,
    // and so is turning a string into code.
    // (A string: this package's TypeScript has no DOM types.)
    const outcome = await page.evaluate<{ handler: unknown; evaluated: unknown }>(`(async () => {
      const holder = document.createElement('div');
      holder.innerHTML = '<img src="/no-such-image" onerror="window.injected = true">';
      await new Promise((resolve) => holder.firstElementChild.addEventListener('error', resolve));
      let evaluated;
      try {
        evaluated = eval('true');
      } catch (error) {
        evaluated = error.name;
      }
      return { handler: window.injected ?? null, evaluated };
    })()`);
    expect(outcome).toEqual({ handler: null, evaluated: 'EvalError' });
    // The refused handler is reported on the console (the eval as the EvalError above).
    await expect.poll(() => refused.length, { timeout: UI_TIMEOUT }).toBe(1);
    expect(refused[0]).toMatch(/inline event handler/);
    await context.close();
  }, 60_000);

  it('signs two users in through the front door, on different chat instances', async () => {
    ada = await newPage('ada');
    bob = await newPage('bob');
    await ada.goto(stack.url);
    await expectVisible(ada.getByLabel('Name'));
    await shot(ada, '00-sign-in');
    await signIn(ada, 'Ada');
    await signIn(bob, 'Bob');

    const adaInstance = await instanceOf(ada);
    let bobInstance = await instanceOf(bob);
    // Round robin spreads connections, but not necessarily these two: reload Bob until they differ.
    for (let attempt = 0; attempt < 12 && bobInstance === adaInstance; attempt++) {
      await bob.reload();
      bobInstance = await instanceOf(bob);
    }
    expect(bobInstance).not.toBe(adaInstance);

    // Both are in the lobby, and see each other online.
    for (const page of [ada, bob]) {
      await expectVisible(page.getByRole('heading', { level: 2, name: 'lobby', exact: true }));
      await expectVisible(roomButton(page, 'lobby').and(page.locator('[aria-current="true"]')));
    }
    await expectVisible(onlineMembers(ada).getByText('Bob', { exact: true }));
    await expectVisible(onlineMembers(bob).getByText('Ada', { exact: true }));
    await shot(ada, '01-ada-signed-in');
  }, 90_000);

  it('chats both ways, with typing indicators', async () => {
    await messageField(bob).pressSequentially('Hello A', { delay: 20 });
    await expectVisible(ada.getByTestId('typing').getByText('Bob is typing…'));
    await shot(ada, '02-ada-sees-bob-typing');
    await messageField(bob).fill('Hello Ada, Bob here');
    await bob.getByRole('button', { name: 'Send', exact: true }).click();
    await expectVisible(conversation(bob).locator('li.msg-own[data-status="sent"]', { hasText: 'Hello Ada, Bob here' }));
    await expectVisible(conversation(ada).locator('li.msg-other', { hasText: 'Hello Ada, Bob here' }));
    // Sending turned the indicator off.
    await expectHidden(ada.getByTestId('typing').getByText('Bob is typing…'));

    await messageField(ada).pressSequentially('Hi B', { delay: 20 });
    await expectVisible(bob.getByTestId('typing').getByText('Ada is typing…'));
    // Clearing the field turns it off too.
    await messageField(ada).fill('');
    await expectHidden(bob.getByTestId('typing').getByText('Ada is typing…'));

    await send(ada, 'Hi Bob! Ada on another instance', 'enter');
    const fromAda = conversation(bob).locator('li.msg-other', { hasText: 'Hi Bob! Ada on another instance' });
    await expectVisible(fromAda);
    // Author and time are shown with the message.
    await expectVisible(fromAda.getByText('Ada', { exact: true }));
    await expectVisible(fromAda.locator('time'));
    await shot(bob, '03-bob-conversation');
  }, 60_000);

  it('validates the Room field, joins a new room from both sides, and counts unread messages', async () => {
    await ada.getByLabel('Room', { exact: true }).fill('Not A Room!');
    await ada.getByRole('button', { name: 'Join', exact: true }).click();
    await expectVisible(ada.getByRole('alert').filter({ hasText: 'Room must match' }));
    await expect(ada.getByLabel('Room', { exact: true }).getAttribute('aria-invalid')).resolves.toBe('true');

    await joinRoom(ada, sideRoom);
    await joinRoom(bob, sideRoom);
    await expectVisible(onlineMembers(ada).getByText('Bob', { exact: true }));
    await send(ada, 'Welcome to the side room');
    await expectVisible(conversation(bob).getByText('Welcome to the side room'));

    // Bob goes back to the lobby; Ada writes in the side room: Bob sees an unread count.
    await roomButton(bob, 'lobby').click();
    await expectVisible(bob.getByRole('heading', { level: 2, name: 'lobby', exact: true }));
    await send(ada, 'Are you still there, Bob?');
    await expectVisible(roomButton(bob, sideRoom).getByTestId('unread'));
    await expect(roomButton(bob, sideRoom).getByTestId('unread').textContent()).resolves.toBe('1 unread');
    await shot(bob, '04-bob-unread-side-room');

    await roomButton(bob, sideRoom).click();
    await expectVisible(conversation(bob).getByText('Are you still there, Bob?'));
    await expectHidden(roomButton(bob, sideRoom).getByTestId('unread'));
  }, 60_000);

  it('shows markup as literal text and links safely', async () => {
    await send(ada, xssText);
    const message = conversation(bob).locator('li.msg', { hasText: '<img src=x onerror=alert(1)>' });
    await expectVisible(message);
    await expect(message.locator('.msg-text').textContent()).resolves.toBe(xssText);
    // No element was made from the text: no <b>, no <img> anywhere in the conversation.
    await expect(conversation(bob).locator('b, img, script').count()).resolves.toBe(0);
    await expect(conversation(ada).locator('b, img, script').count()).resolves.toBe(0);

    const link = message.getByRole('link', { name: safeLink, exact: true });
    await expectVisible(link);
    await expect(link.getAttribute('href')).resolves.toBe(safeLink);
    await expect(link.getAttribute('target')).resolves.toBe('_blank');
    await expect(link.getAttribute('rel')).resolves.toBe('noopener noreferrer nofollow');
    // Only http(s) becomes a link; the trailing full stop is not part of it.
    await expect(message.getByRole('link').count()).resolves.toBe(1);
    expect(dialogs).toEqual([]);
    expect(cspViolations).toEqual([]);
    await shot(bob, '05-bob-literal-markup-and-link');
  }, 60_000);

  it('remembers the user, the room and the history across a reload', async () => {
    await bob.reload();
    // No name form: the name is remembered, and so is the room in view.
    await expectVisible(badge(bob));
    await expectVisible(bob.getByRole('heading', { level: 2, name: sideRoom, exact: true }));
    await expectVisible(conversation(bob).getByText('Welcome to the side room'));
    await expectVisible(conversation(bob).getByText('Are you still there, Bob?'));
    await expectVisible(conversation(bob).locator('li.msg', { hasText: '<b>bold</b>' }));
    // Each message once.
    await expect(conversation(bob).getByText('Welcome to the side room').count()).resolves.toBe(1);

    await roomButton(bob, 'lobby').click();
    await expectVisible(conversation(bob).getByText('Hi Bob! Ada on another instance'));
    await expectVisible(conversation(bob).locator('li.msg-own', { hasText: 'Hello Ada, Bob here' }));
    await shot(bob, '06-bob-after-reload');
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('scrolls back through history, keeping the scroll position', async () => {
    // 72 messages from 8 users (each within the per-user burst of the rate limiter).
    for (let user = 0; user < 8; user++) {
      const client = await connectClient(stack.url, `Seeder ${user + 1}`);
      seeders.push(client);
      const joined = await client.socket.emitWithAck('room:join', { room: historyRoom });
      expect(joined.ok).toBe(true);
      for (let i = 0; i < 9; i++) {
        const n = user * 9 + i + 1;
        const ack = await client.socket.emitWithAck('message:send', { room: historyRoom, text: `history message ${n}` });
        if (!ack.ok) throw new Error(ack.error.message);
      }
    }

    await joinRoom(ada, historyRoom);
    const log = conversation(ada);
    await expectVisible(log.getByText('history message 72', { exact: true }));
    // The join brought the latest 50 only.
    await expect(log.getByText('history message 22', { exact: true }).count()).resolves.toBe(0);

    const scroller = ada.locator('.messages-scroller');
    await scroller.evaluate((element) => {
      element.scrollTop = 0;
    });
    await expectVisible(log.getByText('history message 1', { exact: true }));
    await expectVisible(log.getByText('This is the beginning of'));
    // The older page went in above without moving what was in view to the top.
    const scrollTop = await scroller.evaluate((element) => element.scrollTop);
    expect(scrollTop).toBeGreaterThan(200);
    await expect(log.locator('li.msg').count()).resolves.toBe(72);
    await shot(ada, '07-ada-scrolled-back');
  }, 60_000);

  it('shows rate-limited sends as failed, and Retry sends each of them once', async () => {
    await joinRoom(ada, 'e2e-burst');
    const field = messageField(ada);
    const log = conversation(ada);
    const failed = log.locator('li.msg[data-status="failed"]');
    // Faster than the per-user bucket allows (bursts of 10, then 5 per second), until refused.
    const texts: string[] = [];
    while (texts.length < 80 && (texts.length < 15 || (await failed.count()) === 0)) {
      const text = `burst ${texts.length + 1}`;
      texts.push(text);
      await field.fill(text);
      await field.press('Enter');
    }
    await expectVisible(failed);
    await expectVisible(failed.first().getByRole('alert').getByText(/Rate limited: too many messages; retry in/));
    await shot(ada, '08-ada-rate-limited');

    // Retry them one by one; one that hits the limit again is simply retried again.
    for (let attempt = 0; attempt < 100 && (await failed.count()) > 0; attempt++) {
      await failed.first().getByRole('button', { name: 'Retry', exact: true }).click();
      await expectHidden(log.locator('li.msg[data-status="pending"]'));
    }
    await expect(failed.count()).resolves.toBe(0);
    const shown = await log.locator('li.msg .msg-text').allTextContents();
    expect([...shown].sort()).toEqual([...texts].sort());
  }, 60_000);

  it('works on a phone-sized screen', async () => {
    const phone = await newPage('cy', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await signIn(phone, 'Cy');
    // The sidebar hides behind the Rooms button.
    const roomField = phone.getByLabel('Room', { exact: true });
    await expectHidden(roomField);
    await shot(phone, '09-phone-lobby');
    const toggle = phone.getByRole('button', { name: 'Rooms' });
    await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('false');
    await toggle.click();
    await expectVisible(roomField);
    await expect(toggle.getAttribute('aria-expanded')).resolves.toBe('true');
    await shot(phone, '10-phone-sidebar-open');

    await roomField.fill(sideRoom);
    await roomField.press('Enter');
    await expectHidden(roomField);
    await expectVisible(phone.getByRole('heading', { level: 2, name: sideRoom, exact: true }));
    await expectVisible(conversation(phone).getByText('Welcome to the side room'));
    await send(phone, 'Hello from a phone');
    await expectVisible(conversation(ada).getByText('Hello from a phone').or(roomButton(ada, sideRoom).getByTestId('unread')));
    await expectVisible(conversation(bob).getByText('Hello from a phone').or(roomButton(bob, sideRoom).getByTestId('unread')));

    // The members panel folds behind the "N online" button.
    await expectHidden(onlineMembers(phone));
    await phone.getByRole('button', { name: /^\d+ online$/ }).click();
    await expectVisible(onlineMembers(phone).getByText('Ada', { exact: true }));
    await expectVisible(onlineMembers(phone).getByText('Bob', { exact: true }));
    await shot(phone, '11-phone-members');
    await phone.keyboard.press('Escape');
    await expectHidden(onlineMembers(phone));

    // Nothing wider than the screen.
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(phone, '12-phone-side-room');
    await phone.context().close();
  }, 60_000);

  it('reconnects to another instance after its own dies, and catches up without gaps or duplicates', async () => {
    await roomButton(ada, 'lobby').click();
    await roomButton(bob, 'lobby').click();
    const adaInstance = await instanceOf(ada);
    // Bob reloaded since: keep him off the instance about to die.
    for (let attempt = 0; attempt < 12 && (await instanceOf(bob)) === adaInstance; attempt++) await bob.reload();
    expect(await instanceOf(bob)).not.toBe(adaInstance);

    // Ada's instance dies, and her browser stays offline until we say so.
    await ada.context().setOffline(true);
    await stack.chatServers.find(({ instance }) => instance === adaInstance)!.kill();
    await expectVisible(ada.getByTestId('reconnecting-banner'));
    await shot(ada, '13-ada-reconnecting');

    // Meanwhile: more than the 50 messages a join returns.
    await send(bob, 'Sent while Ada was away');
    for (let user = 0; user < 7; user++) {
      const client = await connectClient(stack.url, `Away ${user + 1}`);
      seeders.push(client);
      expect((await client.socket.emitWithAck('room:join', { room: 'lobby' })).ok).toBe(true);
      for (let i = 0; i < 9; i++) {
        const ack = await client.socket.emitWithAck('message:send', { room: 'lobby', text: `away message ${user * 9 + i + 1}` });
        if (!ack.ok) throw new Error(ack.error.message);
      }
    }
    await expect(ada.getByTestId('reconnecting-banner').isVisible()).resolves.toBe(true);

    await ada.context().setOffline(false);
    await expectHidden(ada.getByTestId('reconnecting-banner'), 30_000);
    expect(await instanceOf(ada)).not.toBe(adaInstance);
    const log = conversation(ada);
    await expectVisible(log.getByText('away message 63', { exact: true }));
    // Everything, each once, in order: catch-up closed the gap behind the join's latest 50.
    const texts = await log.locator('li.msg .msg-text').allTextContents();
    const expected = [
      'Hello Ada, Bob here',
      'Hi Bob! Ada on another instance',
      'Sent while Ada was away',
      ...Array.from({ length: 63 }, (_, i) => `away message ${i + 1}`),
    ];
    expect(texts).toEqual(expected);

    // And she can still talk.
    await send(ada, 'Back again');
    await expectVisible(conversation(bob).getByText('Back again'));
    await shot(ada, '14-ada-reconnected');
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(dialogs).toEqual([]);
  }, 90_000);
});

function isReconnectNoise(text: string): boolean {
  return text.includes('WebSocket') || text.includes('net::ERR_INTERNET_DISCONNECTED');
}

/** Chromium reports each CSP violation on the console, e.g. "Refused to execute inline script because it violates ... Content Security Policy ...". */
function isCspViolation(text: string): boolean {
  return text.includes('Content Security Policy');
}

async function expectVisible(locator: Locator, timeout = UI_TIMEOUT): Promise<void> {
  await locator.first().waitFor({ state: 'visible', timeout });
}

async function expectHidden(locator: Locator, timeout = UI_TIMEOUT): Promise<void> {
  await locator.first().waitFor({ state: 'hidden', timeout });
}
