import assert from 'node:assert/strict';
import type { TestServer } from './server.ts';
import type { MockIdp } from './mock-idp.ts';
import { follow, formFields, go, type Jar } from './login-flow.ts';

// A browser's login through an enterprise connection: from /authorize, through
// the mock IdP and /login/callback, to the application's callback.

/** Follows the redirect chain through the IdP and back; the application's callback URL it ends at. */
export async function throughIdp(s: TestServer, idp: MockIdp, jar: Jar, start: string, callback: string) {
  let hop = await follow(jar, start, s.baseUrl);
  for (let i = 0; i < 5 && !hop.url.startsWith(callback); i++) {
    assert.ok(hop.url.startsWith(idp.issuer) || hop.url.startsWith(s.baseUrl), `unexpected hop ${hop.url}`);
    hop = await follow(jar, hop.url, hop.url.startsWith(idp.issuer) ? idp.issuer : s.baseUrl);
    if (hop.url.startsWith(idp.issuer) && hop.res.status === 200) {
      // The IdP answered with a form post (front_channel): submit it as the browser would.
      const html = await hop.res.text();
      const action = /action="([^"]+)"/.exec(html)![1];
      const posted = await go(jar, action, { method: 'POST', body: new URLSearchParams(formFields(html)), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      hop = await follow(jar, new URL(posted.headers.get('location')!, s.baseUrl).toString(), s.baseUrl);
    }
  }
  return new URL(hop.url);
}
