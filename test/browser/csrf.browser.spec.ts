import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { CountingStore } from '../support/counting.store.js';
import { RequestLog } from '../support/request-log.js';
import {
  PASSWORDS,
  PLATFORMS,
  startSampleApp,
  type SampleAppHarness,
} from '../support/sample-app.harness.js';

const CHROMIUM = '/usr/bin/chromium';
/** A host name that is another site than 127.0.0.1; the browser resolves it to 127.0.0.1. */
const EVIL_HOST = 'evil.test';

/**
 * The attacker's server: another origin on 127.0.0.1 (same site, other
 * port) and, as `evil.test`, another site. `/form` auto-submits a
 * cross-origin `text/plain` form whose body is JSON (the classic JSON CSRF
 * trick); `/fetch` tries `fetch` with `credentials: 'include'`, once as a
 * "simple" no-cors request and once as JSON with an `x-csrf-token` header
 * (which needs a CORS preflight the app never grants).
 */
async function startAttacker(target: string): Promise<{ server: Server; port: number }> {
  const formPage = `<!doctype html><html><body>
<form id="f" method="POST" action="${target}/transfer" enctype="text/plain">
<input type="hidden" name='{"amount":1000000,"pad":"' value='"}'>
</form>
<script>document.getElementById('f').submit();</script>
</body></html>`;
  const fetchPage = `<!doctype html><html><body><pre id="result">pending</pre>
<script>
(async () => {
  const out = [];
  try {
    const r = await fetch('${target}/transfer', { method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: { 'content-type': 'text/plain' }, body: '{"amount":1000000}' });
    out.push('no-cors:' + r.type);
  } catch (e) { out.push('no-cors:error'); }
  try {
    const r = await fetch('${target}/transfer', { method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json', 'x-csrf-token': 'A'.repeat(43) }, body: '{"amount":1000000}' });
    out.push('cors:' + r.status);
  } catch (e) { out.push('cors:blocked'); }
  document.getElementById('result').textContent = out.join(' ');
})();
</script></body></html>`;
  const server = createServer((req, res) => {
    const body = req.url === '/form' ? formPage : req.url === '/fetch' ? fetchPage : undefined;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** An element's text once the page script has written a result into it. */
async function resultOf(page: Page, id: string): Promise<{ status: number; text: string }> {
  await page.waitForSelector(`#${id}:not([data-status=""]):not([data-status="pending"])`, {
    timeout: 5000,
  });
  const status = Number(await page.getAttribute(`#${id}`, 'data-status'));
  return { status, text: (await page.textContent(`#${id}`)) ?? '' };
}

/** Page-side code is passed as strings: this file is type-checked without the DOM library. */
async function resetResult(page: Page, id: string) {
  await page.evaluate(
    `(() => { const el = document.getElementById(${JSON.stringify(id)}); el.dataset.status = ''; el.textContent = ''; })()`,
  );
}

const documentCookie = (page: Page) => page.evaluate('document.cookie') as Promise<string>;

async function click(page: Page, button: string, result: string) {
  await resetResult(page, result);
  await page.click(`#${button}`);
  return resultOf(page, result);
}

/**
 * Issue 4 item 9: the sample's /app page in real headless Chromium. The
 * session cookie is invisible to page scripts, the page's own CSRF token
 * makes a transfer work, a forged cross-origin or cross-site post never
 * makes one (checked on the server), and logout ends the session.
 */
describe.each(PLATFORMS)('browser: /app page, HttpOnly cookie and CSRF (%s)', (platform) => {
  let h: SampleAppHarness<CountingStore>;
  let log: RequestLog;
  let attacker: { server: Server; port: number };
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: run \`apt-get install chromium\``);
    }
    h = await startSampleApp(platform);
    log = new RequestLog(h.app.getHttpServer());
    attacker = await startAttacker(h.http);
    profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
    // `launch()` refuses a --user-data-dir flag; a persistent context takes the directory instead.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--host-resolver-rules=MAP ${EVIL_HOST} 127.0.0.1`,
      ],
    });
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await new Promise((resolve) => attacker?.server.close(resolve));
    log?.stop();
    await h?.close();
  });

  const successfulTransfers = () => log.find('POST', '/transfer').filter((e) => e.status === 200);

  it('logs in, keeps the cookie from scripts, transfers with the token, refuses forged posts, logs out', async () => {
    const page = await context.newPage();

    // The page itself: HTML on both platforms, touching no session.
    const response = await page.goto(`${h.http}/app`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    expect(response?.headers()['set-cookie']).toBeUndefined();

    // Log in through the form.
    await page.fill('#username', 'alice');
    await page.fill('#password', PASSWORDS.alice);
    await resetResult(page, 'login-result');
    await page.click('#login');
    const login = await resultOf(page, 'login-result');
    expect(login.status).toBe(200);
    expect(login.text).toContain('"userId":"alice"');

    // HttpOnly: the browser holds the cookie, page scripts cannot see it.
    const [sid] = (await context.cookies(h.http)).filter((c) => c.name === 'sid');
    expect(sid).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(await documentCookie(page)).not.toContain('sid');
    expect(await documentCookie(page)).not.toContain(sid.value);
    const me = await click(page, 'me', 'me-result');
    expect(me.status).toBe(200);
    expect(me.text).toContain('"userId":"alice"');
    expect(await page.textContent('#cookies')).not.toContain(sid.value);

    // A transfer with the page's CSRF token (fetched from /csrf) works.
    const transfer = await click(page, 'transfer', 'transfer-result');
    expect(transfer.status).toBe(200);
    expect(transfer.text).toContain('"ok":true');
    expect(await page.textContent('#csrf-token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(successfulTransfers()).toHaveLength(1);
    const appOrigin = h.http;
    expect(log.find('POST', '/transfer')[0]).toMatchObject({
      origin: appOrigin,
      secFetchSite: 'same-origin',
    });

    // A forged form post from another origin of the same site: the browser
    // sends the cookie (SameSite=Lax allows same-site), the guard refuses it.
    const sameSiteOrigin = `http://127.0.0.1:${attacker.port}`;
    const evil = await context.newPage();
    await evil.goto(`${sameSiteOrigin}/form`);
    const forged = await log.waitFor(
      'the same-site forged POST /transfer',
      (e) => e.method === 'POST' && e.url === '/transfer' && e.origin === sameSiteOrigin,
    );
    expect(forged.cookie).toContain(`sid=${sid.value}`);
    expect(forged.secFetchSite).toBe('same-site');
    expect(forged.status).toBe(403);
    await evil.waitForURL(`${appOrigin}/transfer`);
    expect(JSON.parse((await evil.textContent('body')) ?? '{}')).toMatchObject({ reason: 'csrf' });

    // The same form from another site: SameSite=Lax keeps the cookie home.
    const crossSiteOrigin = `http://${EVIL_HOST}:${attacker.port}`;
    await evil.goto(`${crossSiteOrigin}/form`);
    const crossSite = await log.waitFor(
      'the cross-site forged POST /transfer',
      (e) => e.method === 'POST' && e.url === '/transfer' && e.origin === crossSiteOrigin,
    );
    expect(crossSite.cookie ?? '').not.toContain('sid=');
    expect(crossSite.secFetchSite).toBe('cross-site');
    expect([401, 403]).toContain(crossSite.status);

    // fetch with credentials: a no-cors "simple" post is refused by the
    // guard; a JSON post with a token header never passes the preflight.
    for (const origin of [sameSiteOrigin, crossSiteOrigin]) {
      await evil.goto(`${origin}/fetch`);
      await evil.waitForFunction("document.getElementById('result').textContent !== 'pending'");
      expect(await evil.textContent('#result')).toBe('no-cors:opaque cors:blocked');
    }
    const fromAttacker = log
      .find('POST', '/transfer')
      .filter((e) => e.origin === sameSiteOrigin || e.origin === crossSiteOrigin);
    // two forms and two no-cors fetches reached the app; the JSON posts did not
    expect(fromAttacker).toHaveLength(4);
    for (const e of fromAttacker) expect([401, 403]).toContain(e.status);
    expect(successfulTransfers()).toHaveLength(1);
    await evil.close();

    // The attacks did not disturb the session; logout ends it.
    expect((await click(page, 'me', 'me-result')).status).toBe(200);
    const logout = await click(page, 'logout', 'logout-result');
    expect(logout.status).toBe(200);
    expect((await context.cookies(h.http)).filter((c) => c.name === 'sid')).toEqual([]);
    const after = await click(page, 'me', 'me-result');
    expect(after.status).toBe(401);
    expect(after.text).toContain('"reason":"no_session"');
    // ... and the old cookie is dead on the server too, not just forgotten by the browser
    const lastMe = log.find('GET', '/me').at(-1)!;
    expect(lastMe.status).toBe(401);
    const replay = await fetch(`${h.http}/me`, { headers: { cookie: `sid=${sid.value}` } });
    expect(replay.status).toBe(401);
    await page.close();
  }, 30_000);
});
