import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import { esc } from '../login/html.ts';

// The HTTP-POST binding: a page whose form the browser submits at once to the
// SP (its ACS URL, or its logout URL), with a button when scripts are off.

export function postToSp(ctx: Koa.Context, action: string, fields: Record<string, string | undefined>) {
  const nonce = randomBytes(16).toString('base64');
  const inputs = Object.entries(fields).filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('\n');
  ctx.status = 200;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Content-Security-Policy', `default-src 'none'; script-src 'nonce-${nonce}'; form-action https: http:; frame-ancestors 'none'; base-uri 'none'`);
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Working...</title></head><body>
<form method="post" name="hiddenform" id="samlp-form" action="${esc(action)}">
${inputs}
<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript>
</form>
<script nonce="${nonce}">document.getElementById('samlp-form').submit();</script></body></html>`;
}
