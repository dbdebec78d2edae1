import type { TestServer } from './server.ts';

// A scripted browser for login tests: a cookie jar, manual redirects, and the
// Universal Login form filled in. Stops when a redirect leaves the server.

export class Jar {
  cookies = new Map<string, string>();
  store(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

export async function go(jar: Jar, url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as any), cookie: jar.header() } });
  jar.store(res);
  return res;
}

/** Follows redirects on the server's own origin; returns the first response that leaves it or is not a redirect. */
export async function follow(jar: Jar, url: string, origin: string, init: RequestInit = {}) {
  let res = await go(jar, url, init);
  let current = url;
  for (let i = 0; i < 15 && res.status >= 300 && res.status < 400; i++) {
    const next = new URL(res.headers.get('location')!, current).toString();
    if (!next.startsWith(origin)) return { res, url: next };
    current = next;
    res = await go(jar, next);
  }
  return { res, url: current };
}

export function formFields(html: string) {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) out[m[1]] = decodeEntities(m[2]);
  return out;
}
export const decodeEntities = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

/**
 * Runs /authorize through the login page with the given credentials and
 * returns the URL the server finally sends the browser to (the callback).
 */
export async function scriptedLogin(s: TestServer, authorizeUrl: string, email: string, password: string, jar = new Jar()) {
  const first = await follow(jar, authorizeUrl, s.baseUrl);
  if (!first.url.startsWith(`${s.baseUrl}/u/login`)) return { jar, url: first.url, res: first.res };
  const html = await first.res.text();
  const fields = formFields(html);
  const body = new URLSearchParams({ ...fields, username: email, password });
  const posted = await go(jar, `${s.baseUrl}/u/login`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  if (posted.status !== 303) return { jar, url: `${s.baseUrl}/u/login`, res: posted, html: await posted.text() };
  const done = await follow(jar, new URL(posted.headers.get('location')!, s.baseUrl).toString(), s.baseUrl);
  return { jar, url: done.url, res: done.res };
}

export interface AppOpts { [k: string]: unknown }

/** An application enabled on the default database connection, and a user in it. */
export async function createApp(s: TestServer, body: AppOpts) {
  const app = await s.api('POST', '/clients', { body });
  if (app.status !== 201) throw new Error(`client create failed ${app.status} ${JSON.stringify(app.body)}`);
  const conns = await s.api('GET', '/connections?name=Username-Password-Authentication');
  const conn = conns.body[0];
  const r = await s.api('PATCH', `/connections/${conn.id}/clients`, { body: [{ client_id: app.body.client_id, status: true }] });
  if (r.status >= 300) throw new Error(`enable connection failed ${r.status} ${JSON.stringify(r.body)}`);
  return app.body as { client_id: string; client_secret?: string; [k: string]: any };
}

export async function createUser(s: TestServer, email: string, password: string, extra: Record<string, unknown> = {}) {
  const r = await s.api('POST', '/users', { body: { connection: 'Username-Password-Authentication', email, password, ...extra } });
  if (r.status !== 201) throw new Error(`user create failed ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Trades the code in a callback URL for a confidential application's tokens; throws unless that succeeds. */
export async function exchangeCode(s: TestServer, app: { client_id: string; client_secret?: string }, redirectUri: string, callback: string): Promise<any> {
  const code = new URL(callback).searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback}`);
  const r = await fetch(`${s.baseUrl}/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: app.client_id, client_secret: app.client_secret! }),
  });
  if (r.status !== 200) throw new Error(`code exchange failed: ${r.status} ${await r.text()}`);
  return r.json();
}
