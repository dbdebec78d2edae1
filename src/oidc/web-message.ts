import { randomBytes } from 'node:crypto';

// Auth0's response_mode=web_message (auth0-spa-js silent auth and popups): a
// page that posts the authorization response to the window that opened or
// framed it, addressed to the redirect_uri's origin only.

const SCRIPT_UNSAFE = /[<>&\u2028\u2029]/g;
const escapeForScript = (s: string) => s.replace(SCRIPT_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export function webMessage(ctx: any, redirectUri: string, response: Record<string, unknown>) {
  const origin = new URL(redirectUri).origin;
  const nonce = randomBytes(16).toString('base64');
  // Auth0 shape: {code,state} or {error,error_description,state}; the engine's iss is not part of it.
  const { iss: _iss, ...body } = response;
  const message = escapeForScript(JSON.stringify({ type: 'authorization_response', response: body }));
  ctx.type = 'html';
  if (![200, 400, 500].includes(ctx.status)) ctx.status = 'error' in response ? 400 : 200;
  ctx.response.remove('x-frame-options');
  ctx.set('Content-Security-Policy', `default-src 'none'; script-src 'nonce-${nonce}'; frame-ancestors ${origin}; base-uri 'none'`);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>Authorization Response</title></head><body>
<script nonce="${nonce}">(function () {
  var target = window.opener || window.parent;
  target.postMessage(${message}, ${escapeForScript(JSON.stringify(origin))});
})();</script></body></html>`;
}
