import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { Jar, createApp, createUser, follow, scriptedLogin } from './helpers/login-flow.ts';
import { launchChromium } from './helpers/browser.ts';

// Universal Login as the tenant customized it: the page template (PUT
// /branding/templates/universal-login) around Postern's login pages (Liquid
// variables escaped, the prompt's name, the head and widget tags, the
// template's own script under the page's CSP), and the prompts' custom text.

let s: TestServer;
let app: { client_id: string };
const CB = 'https://app.example.com/callback';
const EMAIL = 'tpl@example.com';
const PW = 'Template-pw-123!';

const TEMPLATE = `<!DOCTYPE html><html lang="{{locale}}"><head>{%- auth0:head -%}<link rel="stylesheet" href="https://fonts.example.com/brand.css"></head>
<body class="_widget-auto-layout"><div id="brandbar">{{ tenant.friendly_name }}|{{ branding.logo_url }}</div>
{% if prompt.name == "login" %}<p id="greeting">Welcome back</p>{% endif %}<p id="prompt">{{ prompt.name }}</p>
{%- auth0:widget -%}<script>document.body.dataset.templated = 'yes';</script></body></html>`;

before(async () => {
  s = await startServer();
  app = await createApp(s, { name: 'Templated', app_type: 'regular_web', callbacks: [CB] });
  await createUser(s, EMAIL, PW);
  assert.equal((await s.api('PATCH', '/tenants/settings', { body: { friendly_name: 'Acme <b>Corp</b>' } })).status, 200);
  assert.equal((await s.api('PATCH', '/branding', { body: { logo_url: 'https://cdn.example.com/logo.png' } })).status, 200);
});
after(async () => { await s?.close(); });

const authorizeUrl = () => `${s.baseUrl}/authorize?${new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: CB, scope: 'openid', state: 'st' })}`;

async function loginPage(jar = new Jar()) {
  const r = await follow(jar, authorizeUrl(), s.baseUrl);
  assert.match(r.url, /\/u\/login\?state=/);
  return { url: r.url, res: r.res, html: await r.res.text(), jar };
}

test('the page template wraps the login page: variables escaped, prompt name, head and widget, the template\'s script allowed by the nonce', async () => {
  assert.equal((await s.api('PUT', '/branding/templates/universal-login', { body: { template: TEMPLATE } })).status, 201);
  try {
    const { res, html } = await loginPage();
    assert.match(html, /^<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">/);
    assert.match(html, /<title>Welcome \| Acme &#60;b&#62;Corp&#60;&#47;b&#62;<\/title>/, 'auth0:head is the page\'s own head');
    assert.match(html, /<div id="brandbar">Acme &#60;b&#62;Corp&#60;&#47;b&#62;\|https:&#47;&#47;cdn\.example\.com&#47;logo\.png<\/div>/);
    assert.match(html, /<p id="greeting">Welcome back<\/p><p id="prompt">login<\/p>/);
    assert.match(html, /<main><h1>Welcome<\/h1>[\s\S]*name="password"[\s\S]*<\/main>/, 'auth0:widget is the login form');
    const csp = res.headers.get('content-security-policy')!;
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    assert.ok(html.includes(`<script nonce="${nonce}">document.body.dataset.templated`));
    assert.match(csp, /style-src 'self' 'unsafe-inline' https:/);
    assert.match(csp, /frame-ancestors 'none'/);

    // Other pages say their own prompt; the login goes through as without a template.
    const signup = await follow(new Jar(), `${authorizeUrl()}&screen_hint=signup`, s.baseUrl);
    const signupHtml = await signup.res.text();
    assert.match(signupHtml, /<p id="prompt">signup<\/p>/);
    assert.doesNotMatch(signupHtml, /greeting/);
    const done = await scriptedLogin(s, authorizeUrl(), EMAIL, PW);
    assert.match(done.url, /^https:\/\/app\.example\.com\/callback\?code=/);

    // In Chromium, under the page's CSP, the template's script runs and the form is there.
    const browser = await launchChromium();
    try {
      const tab = await browser.context.newPage();
      await tab.goto(authorizeUrl());
      await tab.waitForSelector('input[name="password"]');
      assert.equal(await tab.evaluate('document.body.dataset.templated'), 'yes');
      assert.equal(await tab.textContent('#prompt'), 'login');
    } finally {
      await browser.close();
    }
  } finally {
    await s.api('DELETE', '/branding/templates/universal-login');
  }
  // Without a template, Postern's own page.
  const plain = await loginPage();
  assert.match(plain.html, /^<!doctype html>/);
  assert.doesNotMatch(plain.html, /brandbar/);
  assert.doesNotMatch(plain.res.headers.get('content-security-policy')!, /nonce/);
});

test('a template that is not valid Liquid is refused with a 400 and the stored one stays', async () => {
  assert.equal((await s.api('PUT', '/branding/templates/universal-login', { body: { template: TEMPLATE } })).status, 201);
  try {
    const bad = await s.api('PUT', '/branding/templates/universal-login', { body: { template: '<html><head>{%- auth0:head -%}</head><body>{% if prompt.name %}{%- auth0:widget -%}</body></html>' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errorCode, 'invalid_body');
    assert.match(bad.body.message, /not valid Liquid/);
    assert.equal((await s.api('GET', '/branding/templates/universal-login')).body.body, TEMPLATE);
  } finally {
    await s.api('DELETE', '/branding/templates/universal-login');
  }
});

test('custom text replaces the login, identifier and signup screens\' texts, with ${clientName} and ${companyName} filled in and escaped', async () => {
  const put = (prompt: string, body: unknown) => s.api('PUT', `/prompts/${prompt}/custom-text/en`, { body });
  assert.equal((await put('login', { login: { title: 'Hello ${companyName}', description: 'Sign in to ${clientName} <now>', buttonText: 'Go', forgotPasswordText: 'Lost it?' } })).status, 200);
  assert.equal((await put('signup', { signup: { title: 'Join us', loginActionLinkText: 'Back to login', emailPlaceholder: 'Work email' } })).status, 200);
  // Another language's text is not the page's: the tenant's first enabled locale is `en`.
  assert.equal((await s.api('PUT', '/prompts/login/custom-text/fr', { body: { login: { title: 'Bonjour' } } })).status, 200);
  try {
    const { html } = await loginPage();
    assert.match(html, /<title>Hello Acme &#60;b&#62;Corp&#60;&#47;b&#62; \| Acme/);
    assert.match(html, /<h1>Hello Acme &#60;b&#62;Corp&#60;&#47;b&#62;<\/h1>/);
    assert.match(html, /<p>Sign in to Templated &#60;now&#62;<\/p>/);
    assert.match(html, /<button type="submit" name="action" value="default">Go<\/button>/);
    assert.match(html, />Lost it\?<\/a>/);
    assert.match(html, /<label for="password">Password<\/label>/, 'texts not customized keep their defaults');
    const signup = await (await follow(new Jar(), `${authorizeUrl()}&screen_hint=signup`, s.baseUrl)).res.text();
    assert.match(signup, /<h1>Join us<\/h1>/);
    assert.match(signup, /<label for="email">Work email<\/label>/);
    assert.match(signup, />Back to login<\/a><\/p>/);
    // Identifier first shows the login-id screen's texts.
    assert.equal((await s.api('PATCH', '/prompts', { body: { identifier_first: true } })).status, 200);
    assert.equal((await put('login-id', { 'login-id': { buttonText: 'Next' } })).status, 200);
    const id = await loginPage();
    assert.match(id.html, /action="\/u\/login\/identifier"/);
    assert.match(id.html, />Next<\/button>/);
    assert.match(id.html, /<h1>Welcome<\/h1>/);
  } finally {
    await s.api('PATCH', '/prompts', { body: { identifier_first: false } });
    for (const prompt of ['login', 'signup', 'login-id']) await put(prompt, {});
  }
  assert.match((await loginPage()).html, /<h1>Welcome<\/h1>[\s\S]*Log in to continue to Templated\./);
});
