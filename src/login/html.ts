import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';

// Server-rendered pages for Universal Login (/u/...). Every value that reaches
// HTML goes through esc(); every form carries a CSRF token bound to a cookie.

export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);

export interface Branding {
  name: string; logo?: string; primary?: string;
  /** The tenant's page template around the page, when it has one (see page-template.ts); undefined when it cannot render. */
  frame?: (ctx: Koa.Context, parts: { head: string; widget: string; nonce: string; title: string }) => string | undefined;
}

/**
 * The page shell: tenant name and logo, strict CSP. The only scripts are the
 * page's own `script`, a constant (its data rides in escaped attributes), and
 * those of the tenant's page template, allowed by a nonce of this answer.
 */
export function page(ctx: Koa.Context, opts: { title: string; brand: Branding; body: string; status?: number; script?: string }) {
  ctx.status = opts.status ?? 200;
  ctx.type = 'html';
  const framed = !!opts.brand.frame;
  const nonce = opts.script || framed ? randomBytes(16).toString('base64') : undefined;
  // A page template may bring its own stylesheets and fonts.
  const styles = framed ? "'self' 'unsafe-inline' https:" : "'self' 'unsafe-inline'";
  ctx.set('Content-Security-Policy', `default-src 'self';${nonce ? ` script-src 'nonce-${nonce}';` : ''} img-src 'self' https: data:; style-src ${styles};${framed ? ' font-src https: data:;' : ''} form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'`);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  const logo = opts.brand.logo ? `<img src="${esc(opts.brand.logo)}" alt="${esc(opts.brand.name)} logo" height="48">` : '';
  const head = `<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title)} | ${esc(opts.brand.name)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.6rem 1rem;width:100%}.error{color:#b00020}${opts.brand.primary ? `button{background:${opts.brand.primary};color:#fff;border:0;border-radius:4px}` : ''}</style>`;
  const widget = `<header>${logo}<p>${esc(opts.brand.name)}</p></header><main><h1>${esc(opts.title)}</h1>
${opts.body}
</main>${opts.script ? `<script nonce="${nonce}">${opts.script}</script>` : ''}`;
  const whole = framed ? opts.brand.frame!(ctx, { head, widget, nonce: nonce!, title: opts.title }) : undefined;
  ctx.body = whole ?? `<!doctype html>
<html lang="en"><head>${head}
</head><body>${widget}</body></html>`;
}

const CSRF_COOKIE = 'postern_csrf';
/** Double-submit token: a random cookie, and an HMAC of it in the form. */
export function csrfToken(ctx: Koa.Context, secret: string): string {
  let seed = ctx.cookies.get(CSRF_COOKIE);
  if (!seed || !/^[A-Za-z0-9_-]{22,}$/.test(seed)) {
    seed = randomBytes(18).toString('base64url');
    ctx.cookies.set(CSRF_COOKIE, seed, { httpOnly: true, secure: true, sameSite: 'lax', path: '/u' });
  }
  return createHmac('sha256', secret).update(seed).digest('base64url');
}
export function checkCsrf(ctx: Koa.Context, secret: string, submitted: unknown): boolean {
  const seed = ctx.cookies.get(CSRF_COOKIE);
  if (!seed || typeof submitted !== 'string') return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(seed).digest('base64url'));
  const got = Buffer.from(submitted);
  return expected.length === got.length && timingSafeEqual(expected, got);
}
export const csrfField = (token: string) => `<input type="hidden" name="_csrf" value="${esc(token)}">`;
