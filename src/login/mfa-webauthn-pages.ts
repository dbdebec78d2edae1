import { csrfField, esc } from './html.ts';
import { alert, otherMethods, rememberField, type OtherMethods, type RememberOption } from './pages.ts';
import type { WebAuthnFactor } from '../tenant/mfa-webauthn.ts';

// The /u/mfa pages of a security key or device biometrics: a form whose
// button runs the WebAuthn ceremony (WEBAUTHN_SCRIPT, the page's one nonce'd
// script) with the options in its data-options attribute, and posts the
// credential the browser answers to /u/mfa/webauthn.

const COPY: Record<WebAuthnFactor, { enroll: string; challenge: string; button: string; name: string }> = {
  'webauthn-roaming': {
    enroll: 'Add a security key (such as a YubiKey): when you continue, insert or tap it, and touch it when it blinks.',
    challenge: 'Insert or tap your security key, and touch it when it blinks.',
    button: 'Use security key',
    name: 'Security Key',
  },
  'webauthn-platform': {
    enroll: "Use this device's fingerprint or face recognition (or its screen lock) when you log in.",
    challenge: "Verify it's you with this device's fingerprint or face recognition (or its screen lock).",
    button: 'Continue',
    name: 'This device',
  },
};

/** The name a new key gets when the person gives none. */
export const defaultKeyName = (factor: WebAuthnFactor) => COPY[factor].name;

export function webauthnForm(o: {
  state: string; csrf: string; factor: WebAuthnFactor; enrolling: boolean; options: object; error?: string; backUrl?: string;
} & OtherMethods & RememberOption) {
  const copy = COPY[o.factor];
  return `<h2>${o.enrolling ? 'Secure your account' : 'Verify your identity'}</h2>
<p>${esc(o.enrolling ? copy.enroll : copy.challenge)}</p>
${alert(o.error)}
<p class="error" role="alert" id="webauthn-status" hidden></p>
<form id="webauthn-form" method="post" action="/u/mfa/webauthn" novalidate data-ceremony="${o.enrolling ? 'create' : 'get'}" data-options="${esc(JSON.stringify(o.options))}">
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}"><input type="hidden" name="response" id="webauthn-response" value="">
${o.enrolling ? `<label for="name">Name it (optional)</label>\n<input id="name" name="name" type="text" maxlength="20" autocomplete="off" value="${esc(copy.name)}">\n` : ''}${rememberField(o)}<button type="button" id="webauthn-start" autofocus>${esc(copy.button)}</button>
</form>
<noscript><p class="error">This step needs JavaScript.</p></noscript>
${otherMethods(o)}\n${o.backUrl ? `<p><a href="${esc(o.backUrl)}">Choose another method</a></p>` : ''}`;
}

/**
 * navigator.credentials.create() or get() with the form's options (their
 * binary fields base64url-decoded), then the credential's JSON form (base64url
 * again) posted with the form. A refusal or a timeout stays on the page, so
 * the button can be tried again.
 */
export const WEBAUTHN_SCRIPT = `(function () {
  var form = document.getElementById('webauthn-form'), button = document.getElementById('webauthn-start');
  var status = document.getElementById('webauthn-status'), creating = form.getAttribute('data-ceremony') === 'create';
  function say(text) { status.textContent = text; status.hidden = false; }
  if (!window.PublicKeyCredential || !navigator.credentials) { button.disabled = true; say('This browser cannot use security keys or device biometrics. Try another browser, or another method.'); return; }
  function bytes(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    var b = atob(s + '==='.slice((s.length + 3) % 4)), out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }
  function text(buf) {
    var a = new Uint8Array(buf), s = '';
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  function keys(list) { return (list || []).map(function (c) { return { type: c.type, id: bytes(c.id), transports: c.transports }; }); }
  function submit(cred) {
    var r = cred.response, out = { id: cred.id, rawId: text(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(), response: { clientDataJSON: text(r.clientDataJSON) } };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    if (creating) {
      out.response.attestationObject = text(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = text(r.authenticatorData);
      out.response.signature = text(r.signature);
      if (r.userHandle) out.response.userHandle = text(r.userHandle);
    }
    document.getElementById('webauthn-response').value = JSON.stringify(out);
    form.submit();
  }
  function fail(e) {
    button.disabled = false;
    say(e && e.name === 'InvalidStateError' ? 'This key is already registered. Use another one, or another method.'
      : e && e.name === 'NotAllowedError' ? 'The request was cancelled or timed out. Try again.'
      : 'Something went wrong with your security key or device. Try again, or use another method.');
  }
  button.addEventListener('click', function () {
    var o = JSON.parse(form.getAttribute('data-options'));
    o.challenge = bytes(o.challenge);
    if (creating) { o.user.id = bytes(o.user.id); o.excludeCredentials = keys(o.excludeCredentials); }
    else o.allowCredentials = keys(o.allowCredentials);
    button.disabled = true;
    status.hidden = true;
    (creating ? navigator.credentials.create({ publicKey: o }) : navigator.credentials.get({ publicKey: o })).then(submit, fail);
  });
})();`;
