import { createHash, randomBytes } from 'node:crypto';
import { lightRequest, type LightResponse } from './http.ts';

// A scripted browser for Universal Login: follows redirects by hand, keeps
// cookies, fills whatever form the page shows (hidden fields as given, the
// user field and the password), until the engine redirects to the callback
// with a code, which it then exchanges at /oauth/token with PKCE.

class Jar {
  private cookies = new Map<string, string>();
  absorb(res: LightResponse) {
    for (const c of res.setCookie) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim(), value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
      if (expired || value === '') this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

export interface LoginApp { baseUrl: string; clientId: string; clientSecret: string; redirectUri: string }
export interface LoginRequest { email: string; password: string; audience?: string; scope?: string }

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeEntities(m[2] ?? m[3] ?? m[4] ?? '') : undefined;
};
const decodeEntities = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" } as any)[e]);

/** The form on the page that asks for a password (else the first form), as action + fields. */
function fillForm(html: string, pageUrl: string, req: LoginRequest): { action: string; fields: URLSearchParams } | undefined {
  const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)].map((m) => m[0]);
  const form = forms.find((f) => /type\s*=\s*["']?password/i.test(f)) ?? forms[0];
  if (!form) return undefined;
  const fields = new URLSearchParams();
  for (const [tag] of form.matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(tag, 'name');
    if (!name) continue;
    const type = (attr(tag, 'type') ?? 'text').toLowerCase();
    if (type === 'password') fields.set(name, req.password);
    else if (/^(username|email|login|identifier)$/i.test(name)) fields.set(name, req.email);
    else if (type === 'checkbox' || type === 'radio') { if (/\schecked\b/i.test(tag)) fields.set(name, attr(tag, 'value') ?? 'on'); }
    else fields.set(name, attr(tag, 'value') ?? '');
  }
  // A submit button's name/value (e.g. consent's "accept") is sent as a browser would.
  const button = /<button\b[^>]*type\s*=\s*["']?submit[^>]*>/i.exec(form)?.[0] ?? /<button\b[^>]*>/i.exec(form)?.[0];
  if (button && attr(button, 'name')) fields.set(attr(button, 'name')!, attr(button, 'value') ?? '');
  const openTag = /<form\b[^>]*>/i.exec(form)![0];
  return { action: new URL(attr(openTag, 'action') || pageUrl, pageUrl).toString(), fields };
}

export class FlowError extends Error {}

/** One full login: authorize → login form POST → code → tokens. */
export async function passwordLogin(app: LoginApp, req: LoginRequest): Promise<Record<string, any>> {
  const jar = new Jar();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(12).toString('base64url');
  const authorize = new URL('/authorize', app.baseUrl);
  authorize.search = new URLSearchParams({
    response_type: 'code', client_id: app.clientId, redirect_uri: app.redirectUri, state,
    scope: req.scope ?? 'openid profile email offline_access', code_challenge: challenge, code_challenge_method: 'S256',
    ...(req.audience ? { audience: req.audience } : {}),
  }).toString();

  let url = authorize.toString();
  let init: { method?: string; body?: string; headers?: Record<string, string> } = {};
  let forms = 0;
  for (let hop = 0; hop < 20; hop++) {
    const res = await lightRequest(url, { ...init, headers: { ...init.headers, cookie: jar.header() } });
    jar.absorb(res);
    const location = res.location;
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      if (next.toString().startsWith(app.redirectUri)) {
        const code = next.searchParams.get('code');
        if (!code) throw new FlowError(`callback without a code: ${next.search}`);
        if (next.searchParams.get('state') !== state) throw new FlowError('callback state mismatch');
        return exchange(app, code, verifier);
      }
      url = next.toString(); init = {};
      continue;
    }
    const text = res.text;
    if (res.status !== 200 || ++forms > 3) throw new FlowError(`${new URL(url).pathname} answered ${res.status}: ${text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 160)}`);
    const form = fillForm(text, url, req);
    if (!form) throw new FlowError(`no form on ${new URL(url).pathname}`);
    url = form.action;
    init = { method: 'POST', body: form.fields.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new FlowError('too many redirects');
}

async function exchange(app: LoginApp, code: string, verifier: string) {
  const res = await lightRequest(new URL('/oauth/token', app.baseUrl).toString(), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: app.redirectUri, client_id: app.clientId, client_secret: app.clientSecret }).toString(),
  });
  let body: any;
  try { body = JSON.parse(res.text); } catch { body = res.text; }
  if (res.status !== 200 || !body.access_token) throw new FlowError(`code exchange answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
  return body;
}
