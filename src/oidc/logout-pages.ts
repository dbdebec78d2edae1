import { randomBytes } from 'node:crypto';

// RP-initiated logout (/oidc/logout) without the engine's confirmation page:
// the form it would show is submitted at once, as Auth0 logs out directly.

export async function logoutSource(ctx: any, form: string) {
  const nonce = randomBytes(16).toString('base64');
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', `default-src 'none'; script-src 'nonce-${nonce}'; form-action 'self' https: http:; frame-ancestors 'none'`);
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing out</title></head><body>
${form}<input type="hidden" form="op.logoutForm" name="logout" value="yes">
<noscript><button type="submit" form="op.logoutForm">Sign out</button></noscript>
<script nonce="${nonce}">document.getElementById('op.logoutForm').submit();</script></body></html>`;
}

export async function postLogoutSuccessSource(ctx: any) {
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  ctx.body = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body><main><h1>You are signed out.</h1></main></body></html>';
}
