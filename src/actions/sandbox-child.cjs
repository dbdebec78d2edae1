'use strict';
// The process that runs tenant action code (see sandbox.ts). It is plain
// CommonJS so it starts without the TypeScript loader, and the host starts it
// under Node's permission model with an empty environment: no file writes, no
// child processes, no workers, no secrets of the server. Each action runs in a
// fresh vm context; the host kills this process when a run overstays.

const vm = require('node:vm');

// What `require` gives action code: Node's libraries that neither touch the
// file system nor start processes. npm dependencies cannot be installed offline.
const BUILTINS = new Set([
  'assert', 'buffer', 'crypto', 'dns', 'events', 'http', 'https', 'net', 'path', 'punycode', 'querystring',
  'stream', 'string_decoder', 'timers', 'tls', 'url', 'util', 'zlib',
]);

/** Per-action caches (api.cache), kept for this process's life as Auth0 keeps them best-effort. */
const caches = new Map();
const CACHE_MAX_TTL_MS = 24 * 3600 * 1000;
const CACHE_MAX_ITEMS = 20;

function cacheFor(actionId) {
  let c = caches.get(actionId);
  if (!c) caches.set(actionId, (c = new Map()));
  const live = (k) => {
    const e = c.get(k);
    if (e && e.expires_at <= Date.now()) { c.delete(k); return undefined; }
    return e;
  };
  return {
    get: (key) => { const e = live(String(key)); return e ? { value: e.value, expires_at: e.expires_at } : undefined; },
    set: (key, value, opts = {}) => {
      if (typeof value !== 'string') return { type: 'error', code: 'invalid_value' };
      const ttl = Math.min(Number(opts.ttl) || CACHE_MAX_TTL_MS, CACHE_MAX_TTL_MS);
      const expires_at = Math.min(Number(opts.expires_at) || Infinity, Date.now() + ttl);
      c.delete(String(key));
      c.set(String(key), { value, expires_at });
      while (c.size > CACHE_MAX_ITEMS) c.delete(c.keys().next().value);
      return { type: 'success', record: { value, expires_at } };
    },
    delete: (key) => { c.delete(String(key)); return { type: 'success' }; },
  };
}

/** A method Postern does not offer: calling it fails the action, so a flow never silently skips a step. */
const unsupported = (name) => () => { throw new Error(`${name} is not supported by Postern`); };

// Claims an action may not set (Auth0's list: it ignores them, so `groups` must be namespaced); also Auth0's own namespaces.
const RESTRICTED = new Set([
  'acr', 'act', 'active', 'amr', 'at_hash', 'ath', 'attest', 'aud', 'auth_time', 'authorization_details', 'azp',
  'c_hash', 'client_id', 'cnf', 'cty', 'dest', 'entitlements', 'events', 'exp', 'groups', 'gty', 'htm', 'htu', 'iat',
  'internalService', 'iss', 'jcard', 'jku', 'jti', 'jwe', 'jwk', 'kid', 'may_act', 'mky', 'nbf', 'nonce', 'object_id',
  'org_id', 'org_name', 'orig', 'origid', 'permissions', 'roles', 'rph', 's_hash', 'sid', 'sip_callid', 'sip_cseq_num',
  'sip_date', 'sip_from_tag', 'sip_via_branch', 'sub', 'sub_jwk', 'toe', 'tid', 'tenant_id', 'txn', 'typ', 'uuid',
  'vot', 'vtm', 'x5t#S256', 'scope',
]);
const auth0Namespace = (name) => /^https?:\/\/([^/]*\.)?(auth0\.com|webtask\.io|webtask\.run)(\/|$)/i.test(name);

/** JSON only: a claim or metadata value must survive the trip to the token. */
const plain = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

function claimSetter(target, warnings) {
  return (name, value) => {
    name = String(name);
    if (auth0Namespace(name) || RESTRICTED.has(name)) {
      warnings.push(`The claim "${name}" is restricted and was not added.`);
      return;
    }
    target[name] = plain(value);
  };
}

/** api.user.set*Metadata: recorded for the host to save once, and visible to the actions after this one (they share `event`). */
function metadataSetter(effects, event, key, field) {
  event.user = event.user || {};
  return (name, value) => {
    effects[key][String(name)] = value === undefined ? null : plain(value);
    event.user[field] = { ...(event.user[field] || {}), [String(name)]: value };
    if (value === undefined || value === null) delete event.user[field][String(name)];
  };
}

// Tokens for a redirect's round trip (api.redirect.encodeToken/validateToken)
// are HS256 JWTs with the action's own secret. Auth0's API is synchronous, and
// the sandbox can load no package, so they are made with node:crypto's HMAC
// here rather than with jose (whose API is asynchronous).
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const hs256 = (secret, input) => require('node:crypto').createHmac('sha256', String(secret)).update(input).digest();

function redirectApi(effects, event, ctl) {
  return {
    canRedirect: () => ctl.canRedirect,
    sendUserTo: (url, options = {}) => {
      if (!ctl.canRedirect) throw new Error('api.redirect.sendUserTo cannot redirect in this flow (no browser, or prompt=none)');
      const target = new URL(String(url));
      if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new Error('api.redirect.sendUserTo needs an http(s) URL');
      effects.redirect = { url: target.href, query: Object.fromEntries(Object.entries(options.query || {}).map(([k, v]) => [k, String(v)])) };
    },
    encodeToken: ({ secret, payload = {}, expiresInSeconds = 900 } = {}) => {
      if (!secret) throw new Error('api.redirect.encodeToken needs a secret');
      const now = Math.floor(Date.now() / 1000);
      const claims = { ...plain(payload), iat: now, exp: now + Number(expiresInSeconds), iss: event.request && event.request.hostname, sub: event.user && event.user.user_id, ...(ctl.state ? { state: ctl.state } : {}) };
      const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
      return `${input}.${hs256(secret, input).toString('base64url')}`;
    },
    validateToken: ({ secret, tokenParameterName = 'session_token' } = {}) => {
      if (!secret) throw new Error('api.redirect.validateToken needs a secret');
      const req = event.request || {};
      const token = (req.query && req.query[tokenParameterName]) || (req.body && req.body[tokenParameterName]);
      if (typeof token !== 'string') throw new Error(`There is no ${tokenParameterName} parameter`);
      const [h, p, sig] = token.split('.');
      let header;
      let claims;
      try { header = JSON.parse(Buffer.from(h, 'base64url')); claims = JSON.parse(Buffer.from(p, 'base64url')); } catch { throw new Error('The token is malformed'); }
      const given = Buffer.from(sig || '', 'base64url');
      const expected = hs256(secret, `${h}.${p}`);
      if (header.alg !== 'HS256' || given.length !== expected.length || !require('node:crypto').timingSafeEqual(given, expected)) throw new Error('The token signature is invalid');
      if (typeof claims.exp === 'number' && claims.exp <= Math.floor(Date.now() / 1000)) throw new Error('The token has expired');
      if (claims.state !== ctl.state) throw new Error('The token was not issued for this login (state mismatch)');
      return claims;
    },
  };
}

// api.samlResponse's setters, by the addon setting each one overrides; the host
// applies them to SAML logins only (samlp/action-overrides.ts), and checks them there.
const SAML_SETTINGS = [
  'audience', 'recipient', 'createUpnClaim', 'passthroughClaimsWithNoMapping', 'mapUnknownClaimsAsIs', 'mapIdentities',
  'signatureAlgorithm', 'digestAlgorithm', 'destination', 'lifetimeInSeconds', 'signResponse', 'nameIdentifierFormat',
  'nameIdentifierProbes', 'authnContextClassRef', 'signingCert', 'includeAttributeNameFormat', 'typedAttributes',
  'encryptionCert', 'encryptionPublicKey', 'encryptionAlgorithm', 'cert', 'key', 'relayState', 'issuer',
];

function samlResponseApi(target) {
  const api = {
    // null or undefined removes the attribute, as in Auth0.
    setAttribute: (name, value) => { target.attributes[String(name)] = value === undefined ? null : plain(value); },
  };
  for (const k of SAML_SETTINGS) api[`set${k[0].toUpperCase()}${k.slice(1)}`] = (value) => { target.settings[k] = plain(value); };
  return api;
}

/** The api object of each trigger; what it records is the run's outcome (effects). */
function apiFor(trigger, effects, event, actionId, ctl) {
  const cache = cacheFor(actionId);
  if (trigger === 'post-login') {
    return {
      access: { deny: (reason) => { effects.deny = String(reason ?? ''); } },
      idToken: { setCustomClaim: claimSetter(effects.idToken, effects.warnings) },
      accessToken: {
        setCustomClaim: claimSetter(effects.accessToken, effects.warnings),
        addScope: (s) => { effects.removeScopes = effects.removeScopes.filter((x) => x !== String(s)); effects.addScopes.push(String(s)); },
        removeScope: (s) => { effects.addScopes = effects.addScopes.filter((x) => x !== String(s)); effects.removeScopes.push(String(s)); },
      },
      user: { setAppMetadata: metadataSetter(effects, event, 'appMetadata', 'app_metadata'), setUserMetadata: metadataSetter(effects, event, 'userMetadata', 'user_metadata') },
      cache,
      // The host decides what the provider means (tenant/mfa-policy.ts); the last call wins, as in Auth0.
      multifactor: {
        enable: (provider, options = {}) => { effects.multifactor = { provider: String(provider), allowRememberBrowser: Boolean(options && options.allowRememberBrowser) }; },
      },
      authentication: {
        challengeWith: unsupported('api.authentication.challengeWith'), challengeWithAny: unsupported('api.authentication.challengeWithAny'),
        enrollWith: unsupported('api.authentication.enrollWith'), enrollWithAny: unsupported('api.authentication.enrollWithAny'),
        recordMethod: unsupported('api.authentication.recordMethod'), setPrimaryUser: unsupported('api.authentication.setPrimaryUser'),
      },
      redirect: redirectApi(effects, event, ctl),
      prompt: { render: unsupported('api.prompt.render') },
      samlResponse: samlResponseApi(effects.samlResponse),
    };
  }
  if (trigger === 'pre-user-registration') {
    return {
      access: { deny: (reason, userMessage) => { effects.deny = String(reason ?? ''); effects.denyMessage = userMessage === undefined ? undefined : String(userMessage); } },
      validation: {
        error: (code, message) => { effects.deny = String(message ?? ''); effects.denyMessage = effects.deny; effects.denyCode = String(code ?? 'invalid_signup'); },
      },
      user: { setAppMetadata: metadataSetter(effects, event, 'appMetadata', 'app_metadata'), setUserMetadata: metadataSetter(effects, event, 'userMetadata', 'user_metadata') },
      cache,
    };
  }
  if (trigger === 'custom-token-exchange') {
    const deny = (code, reason) => { effects.deny = String(reason ?? ''); effects.denyCode = String(code ?? 'invalid_request'); };
    return {
      authentication: {
        setUserById: (id) => { effects.user = { id: String(id) }; },
        setUserByConnection: (connection, attributes, options) => {
          effects.user = { connection: String(connection), attributes: plain(attributes || {}), options: plain(options || {}) };
        },
      },
      access: { deny, rejectInvalidSubjectToken: (reason) => deny('invalid_request', reason) },
      cache,
    };
  }
  if (trigger === 'password-reset-post-challenge') {
    return {
      access: { deny: (reason) => { effects.deny = String(reason ?? ''); } },
      authentication: { challengeWith: unsupported('api.authentication.challengeWith'), challengeWithAny: unsupported('api.authentication.challengeWithAny') },
      cache,
    };
  }
  // Both run after the fact: nothing they do changes the flow.
  if (trigger === 'post-user-registration' || trigger === 'post-change-password') return { cache };
  if (trigger === 'credentials-exchange') {
    return {
      access: { deny: (code, reason) => { effects.deny = String(reason ?? ''); effects.denyCode = String(code ?? 'invalid_request'); } },
      accessToken: { setCustomClaim: claimSetter(effects.accessToken, effects.warnings) },
      cache,
    };
  }
  // Triggers Postern never fires: actions for them can still be tested.
  return { cache, access: { deny: (...a) => { effects.deny = String(a[a.length - 1] ?? ''); } } };
}

const newEffects = () => ({
  deny: undefined, denyCode: undefined, denyMessage: undefined, idToken: {}, accessToken: {}, addScopes: [], removeScopes: [],
  appMetadata: {}, userMetadata: {}, warnings: [], samlResponse: { settings: {}, attributes: {} },
});

function consoleInto(logs) {
  const line = (...args) => logs.push(args.map((a) => (typeof a === 'string' ? a : safeInspect(a))).join(' '));
  return { log: line, info: line, warn: line, error: line, debug: line, trace: line };
}
function safeInspect(v) { try { return require('node:util').inspect(v, { depth: 4 }); } catch { return String(v); } }

// Code runs through these scripts so that the vm's timeout covers its synchronous part.
const LOAD = new vm.Script('(function (exports, require, module, __filename, __dirname) { return eval(__postern.code); })'
  + '.call(__postern.module.exports, __postern.module.exports, __postern.require, __postern.module, __postern.filename, "/")');
const CALL = new vm.Script('__postern.fn(__postern.event, __postern.api)');

/** A fresh context per action, with its module loaded; `call` runs its handler. */
function load(action, logs, timeoutMs) {
  const context = vm.createContext({
    console: consoleInto(logs), fetch, Headers, Request, Response, FormData, AbortController, AbortSignal,
    URL, URLSearchParams, TextEncoder, TextDecoder, Buffer, atob, btoa, structuredClone, crypto: globalThis.crypto,
    setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate, queueMicrotask,
  });
  const module = { exports: {} };
  const req = (name) => {
    const bare = String(name).replace(/^node:/, '');
    if (BUILTINS.has(bare)) return require(`node:${bare}`);
    throw new Error(`Cannot find module '${name}': Postern runs actions with Node's built-in modules only`);
  };
  const filename = `/${action.name}.js`;
  // Wrapped as a function body so that `return` and top-level `exports` behave as in a CommonJS module.
  context.__postern = { code: `(function(){${action.code}\n}).call(this)`, module, require: req, filename };
  LOAD.runInContext(context, { timeout: timeoutMs });
  return {
    exports: module.exports,
    call(fn, event, api) {
      context.__postern = { fn, event, api };
      try { return CALL.runInContext(context, { timeout: timeoutMs }); } finally { delete context.__postern; }
    },
  };
}

/** The event as the action sees it: a copy, with this action's own secrets. */
const eventFor = (event, action) => ({ ...JSON.parse(JSON.stringify(event)), secrets: { ...(action.secrets || {}) } });

async function run({ trigger, handler, resumeWith, actions, event, timeoutMs, redirect = {} }) {
  // What the redirect API may do in this run: redirect at all, and the state of the login it belongs to.
  const ctl = { canRedirect: Boolean(redirect.can), state: redirect.state };
  const effects = newEffects();
  const results = [];
  for (const action of actions) {
    const started_at = new Date().toISOString();
    const logs = [];
    let error;
    try {
      const loaded = load(action, logs, timeoutMs);
      // A login back from a redirect resumes the action that sent it with its onContinue handler.
      const name = resumeWith && results.length === 0 ? resumeWith : handler;
      const fn = loaded.exports && loaded.exports[name];
      if (typeof fn === 'function') await loaded.call(fn, eventFor(event, action), apiFor(trigger, effects, event, action.id, ctl));
    } catch (e) {
      error = { id: 'actions_execution_error', msg: String((e && e.message) || e) };
    }
    results.push({ action_name: action.name, started_at, ended_at: new Date().toISOString(), ...(error ? { error } : {}), logs });
    // A denial or an error ends the flow, and a redirect suspends it: later actions do not run (yet).
    if (error || effects.deny !== undefined || effects.redirect) break;
  }
  return { results, effects };
}

process.on('message', (job) => {
  run(job).then(
    (out) => process.send({ id: job.id, ...out }),
    (e) => process.send({ id: job.id, failed: String((e && e.message) || e) }),
  );
});
// The server went away (or stopped this sandbox): nothing left to run for.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
