import { csrfField, esc } from './html.ts';
import type { ScreenText } from './custom-text.ts';

// The forms of Universal Login. Plain HTML: labels tied to inputs, the first
// field autofocused, one submit button, errors announced with role=alert.

const multiline = (text: string) => esc(text).replace(/\n/g, '<br>');
export const alert = (message?: string) => (message ? `<p class="error" role="alert" id="form-error">${multiline(message)}</p>` : '');

export interface ConnectionButton { label: string; url: string }
const buttonList = (buttons: ConnectionButton[] = []) => (buttons.length
  ? `<ul class="connections" aria-label="Other ways to log in">${buttons.map((b) => `<li><a href="${esc(b.url)}">${esc(b.label)}</a></li>`).join('')}</ul>\n`
  : '');

/** Identifier-first login: the email alone; home realm discovery picks where the password is asked. */
export function identifierForm(o: { t: ScreenText; state: string; csrf: string; email?: string; error?: string; signupUrl?: string; buttons?: ConnectionButton[] }) {
  return `<p>${esc(o.t.description)}</p>
${alert(o.error)}
<form method="post" action="/u/login/identifier" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}">
<label for="username">${esc(o.t.emailPlaceholder)}</label>
<input id="username" name="username" type="email" autocomplete="username" required autofocus value="${esc(o.email ?? '')}"${o.error ? ' aria-describedby="form-error"' : ''}>
<button type="submit" name="action" value="default">${esc(o.t.buttonText)}</button>
</form>
${buttonList(o.buttons)}${o.signupUrl ? `<p>${esc(o.t.signupActionText)} <a href="${esc(o.signupUrl)}">${esc(o.t.signupActionLinkText)}</a></p>` : ''}`;
}

export function loginForm(o: { t: ScreenText; state: string; csrf: string; email?: string; error?: string; resetUrl: string; signupUrl?: string; withUsername?: boolean; buttons?: ConnectionButton[] }) {
  return `<p>${esc(o.t.description)}</p>
${alert(o.error)}
<form method="post" action="/u/login" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}">
<label for="username">${esc(o.withUsername ? o.t.usernamePlaceholder : o.t.emailPlaceholder)}</label>
<input id="username" name="username" type="${o.withUsername ? 'text' : 'email'}" autocomplete="username" required autofocus value="${esc(o.email ?? '')}"${o.error ? ' aria-describedby="form-error"' : ''}>
<label for="password">${esc(o.t.passwordPlaceholder)}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" name="action" value="default">${esc(o.t.buttonText)}</button>
</form>
${buttonList(o.buttons)}<p><a href="${esc(o.resetUrl)}">${esc(o.t.forgotPasswordText)}</a></p>
${o.signupUrl ? `<p>${esc(o.t.signupActionText)} <a href="${esc(o.signupUrl)}">${esc(o.t.signupActionLinkText)}</a></p>` : ''}`;
}

/** `username` set (even empty) when the connection requires one. */
export function signupForm(o: { t: ScreenText; state: string; csrf: string; email?: string; emailFixed?: boolean; username?: string; error?: string; loginUrl: string; policy?: string }) {
  return `<p>${esc(o.t.description)}</p>
${alert(o.error)}
<form method="post" action="/u/signup" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}">
<label for="email">${esc(o.t.emailPlaceholder)}</label>
<input id="email" name="email" type="email" autocomplete="email" required${o.emailFixed ? ' readonly' : ' autofocus'} value="${esc(o.email ?? '')}"${o.error ? ' aria-describedby="form-error"' : ''}>
${o.username !== undefined ? `<label for="signup-username">${esc(o.t.usernamePlaceholder)}</label>
<input id="signup-username" name="username" type="text" autocomplete="username" required value="${esc(o.username)}">
` : ''}<label for="password">${esc(o.t.passwordPlaceholder)}</label>
<input id="password" name="password" type="password" autocomplete="new-password" required${o.emailFixed ? ' autofocus' : ''}${o.policy ? ' aria-describedby="password-policy"' : ''}>
${o.policy ? `<p id="password-policy">${multiline(o.policy)}</p>` : ''}
<button type="submit" name="action" value="default">${esc(o.t.buttonText)}</button>
</form>
<p>${esc(o.t.loginActionText)} <a href="${esc(o.loginUrl)}">${esc(o.t.loginActionLinkText)}</a></p>`;
}

export function consentForm(o: { state: string; csrf: string; appName: string; scopes: string[]; user?: string }) {
  const items = o.scopes.map((s) => `<li>${esc(s)}</li>`).join('');
  return `<p>${esc(o.appName)} is requesting access to your account${o.user ? ` (${esc(o.user)})` : ''}.</p>
<ul aria-label="Requested permissions">${items}</ul>
<form method="post" action="/u/consent">
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}">
<button type="submit" name="action" value="accept" autofocus>Accept</button>
<button type="submit" name="action" value="deny">Decline</button>
</form>`;
}

/** CIBA by email: the request the person approves or declines, with the message shown on the other device. */
export function cibaApprovalForm(o: { ticket: string; csrf: string; appName: string; bindingMessage: string; scopes: string[]; user?: string }) {
  const items = o.scopes.map((s) => `<li>${esc(s)}</li>`).join('');
  return `<p>${esc(o.appName)} asks you${o.user ? ` (${esc(o.user)})` : ''} to approve a request.</p>
<p>Check that this message matches the one on your other device:</p>
<p><strong id="binding-message">${esc(o.bindingMessage)}</strong></p>
<ul aria-label="Requested permissions">${items}</ul>
<form method="post" action="/u/ciba">
${csrfField(o.csrf)}<input type="hidden" name="ticket" value="${esc(o.ticket)}">
<button type="submit" name="action" value="accept">Accept</button>
<button type="submit" name="action" value="deny">Decline</button>
</form>`;
}

const codeField = (label: string, o: { error?: string }, opts = 'inputmode="numeric" pattern="[0-9]*" autocomplete="one-time-code" maxlength="6"') =>
  `<label for="code">${label}</label>
<input id="code" name="code" type="text" ${opts} required autofocus${o.error ? ' aria-describedby="form-error"' : ''}>`;

/** "Remember this browser", when the tenant shows it and the login allows it. */
export interface RememberOption { remember?: { checked: boolean } }
export const rememberField = (o: RememberOption) => (o.remember
  ? `<p><input id="remember" name="remember" type="checkbox" value="1"${o.remember.checked ? ' checked' : ''}> <label for="remember">Remember this browser</label></p>\n`
  : '');

/** Enrolling an authenticator app: the secret to type in (or the otpauth link to open), then its first code. */
export function otpEnrollForm(o: { state: string; csrf: string; secret: string; uri: string; error?: string } & RememberOption) {
  const grouped = o.secret.replace(/(.{4})/g, '$1 ').trim();
  return `<h2>Secure your account</h2>
<p>Add this account to an authenticator app (Google Authenticator, 1Password, Authy…): open the link on your phone, or enter the key by hand.</p>
<p><a href="${esc(o.uri)}">Add to authenticator app</a></p>
<p>Key: <code id="otp-secret" aria-label="Secret key">${esc(grouped)}</code></p>
${alert(o.error)}
<form method="post" action="/u/mfa" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}">
${codeField('Enter the 6-digit code the app shows', o)}
${rememberField(o)}<button type="submit" name="action" value="default">Continue</button>
</form>`;
}

/** The other ways a person may finish the second factor (another enrolled method, a recovery code). */
export interface OtherMethods { methods?: ConnectionButton[]; recoveryUrl?: string }
export const otherMethods = (o: OtherMethods) => `${o.methods?.length
  ? `<ul class="connections" aria-label="Other methods">${o.methods.map((b) => `<li><a href="${esc(b.url)}">${esc(b.label)}</a></li>`).join('')}</ul>\n`
  : ''}${o.recoveryUrl ? `<p><a href="${esc(o.recoveryUrl)}">Use a recovery code</a></p>` : ''}`;

/** Logging in with the enrolled app's code, or another method instead. */
export function otpChallengeForm(o: { state: string; csrf: string; error?: string } & OtherMethods & RememberOption) {
  return `<h2>Verify your identity</h2>
<p>Check your authenticator app for your one-time code.</p>
${alert(o.error)}
<form method="post" action="/u/mfa" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}">
${codeField('Enter your one-time code', o)}
${rememberField(o)}<button type="submit" name="action" value="default">Continue</button>
</form>
${otherMethods(o)}`;
}

/** Choosing how to secure the account, when the tenant offers several factors. */
export function mfaFactorChoice(o: { methods: ConnectionButton[] }) {
  return `<h2>Secure your account</h2>
<p>Choose how you want to verify your identity when you log in.</p>
<ul class="connections" aria-label="Authentication methods">${o.methods.map((b) => `<li><a href="${esc(b.url)}">${esc(b.label)}</a></li>`).join('')}</ul>`;
}

/** Enrolling a phone number or an email address: where the first code goes. */
export function oobAddressForm(o: { state: string; csrf: string; factor: 'sms' | 'email'; address?: string; error?: string; backUrl?: string }) {
  const sms = o.factor === 'sms';
  return `<h2>Secure your account</h2>
<p>${sms ? 'Enter your phone number: we will text you a code to verify it.' : 'Enter your email address: we will email you a code to verify it.'}</p>
${alert(o.error)}
<form method="post" action="/u/mfa/oob/enroll" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}"><input type="hidden" name="factor" value="${o.factor}">
<label for="address">${sms ? 'Phone number (with country code, e.g. +14155550100)' : 'Email address'}</label>
<input id="address" name="address" type="${sms ? 'tel' : 'email'}" autocomplete="${sms ? 'tel' : 'email'}" required autofocus value="${esc(o.address ?? '')}"${o.error ? ' aria-describedby="form-error"' : ''}>
<button type="submit" name="action" value="default">Continue</button>
</form>
${o.backUrl ? `<p><a href="${esc(o.backUrl)}">Choose another method</a></p>` : ''}`;
}

/** The code sent by SMS or email; the oob_code names which code it is. */
export function oobCodeForm(o: { state: string; csrf: string; oobCode: string; sentTo: string; byEmail: boolean; error?: string; resendUrl: string } & OtherMethods & RememberOption) {
  return `<h2>Verify your identity</h2>
<p>We've sent ${o.byEmail ? 'an email' : 'a text message'} with your code to <strong>${esc(o.sentTo)}</strong>.</p>
${alert(o.error)}
<form method="post" action="/u/mfa/oob" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}"><input type="hidden" name="oob_code" value="${esc(o.oobCode)}">
<input type="hidden" name="sent_to" value="${esc(o.sentTo)}"><input type="hidden" name="by" value="${o.byEmail ? 'email' : 'phone'}">
${codeField('Enter the code', o, 'inputmode="numeric" pattern="[0-9]*" autocomplete="one-time-code" maxlength="10"')}
${rememberField(o)}<button type="submit" name="action" value="default">Continue</button>
</form>
<p><a href="${esc(o.resendUrl)}">Resend the code</a></p>
${otherMethods(o)}`;
}

export function recoveryCodeForm(o: { state: string; csrf: string; error?: string; backUrl: string } & RememberOption) {
  return `<h2>Verify your identity</h2>
<p>Enter the recovery code you were given when you set up your authenticator app.</p>
${alert(o.error)}
<form method="post" action="/u/mfa/recovery" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}">
${codeField('Recovery code', o, 'autocomplete="off" autocapitalize="characters" spellcheck="false"')}
${rememberField(o)}<button type="submit" name="action" value="default">Continue</button>
</form>
<p><a href="${esc(o.backUrl)}">Use another method</a></p>`;
}

/** A recovery code, shown once: after enrolling, or in place of the one just used. */
export function recoveryCodeNotice(o: { code: string; continueUrl: string; replaced: boolean }) {
  return `<h2>${o.replaced ? 'Your new recovery code' : 'Save your recovery code'}</h2>
<p>${o.replaced ? 'The code you used no longer works. ' : ''}If you lose your device, this code lets you log in. Keep it somewhere safe: it will not be shown again.</p>
<p><code id="recovery-code" aria-label="Recovery code">${esc(o.code)}</code></p>
<p><a href="${esc(o.continueUrl)}" autofocus>I have safely recorded this code, continue</a></p>`;
}

/** Passwordless, step one: the address a code is sent to (an email, or a phone number in E.164). */
export function passwordlessAddressForm(o: { state: string; csrf: string; sms: boolean; address?: string; error?: string; appName: string }) {
  return `<p>Log in to continue to ${esc(o.appName)}. We will send you a code${o.sms ? ' by text message' : ' by email'}.</p>
${alert(o.error)}
<form method="post" action="/u/login/passwordless" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}">
<label for="address">${o.sms ? 'Phone number (with country code, e.g. +14155550100)' : 'Email address'}</label>
<input id="address" name="address" type="${o.sms ? 'tel' : 'email'}" autocomplete="${o.sms ? 'tel' : 'email'}" required autofocus value="${esc(o.address ?? '')}"${o.error ? ' aria-describedby="form-error"' : ''}>
<button type="submit" name="action" value="default">Continue</button>
</form>`;
}

/** Passwordless, step two: the code that was sent. */
export function passwordlessCodeForm(o: { state: string; csrf: string; address: string; length: number; error?: string; againUrl: string }) {
  return `<h2>Enter your code</h2>
<p>We sent a code to ${esc(o.address)}.</p>
${alert(o.error)}
<form method="post" action="/u/login/passwordless/verify" novalidate>
${csrfField(o.csrf)}<input type="hidden" name="state" value="${esc(o.state)}"><input type="hidden" name="address" value="${esc(o.address)}">
${codeField('Code', o, `inputmode="numeric" pattern="[0-9]*" autocomplete="one-time-code" maxlength="${o.length}"`)}
<button type="submit" name="action" value="default">Continue</button>
</form>
<p><a href="${esc(o.againUrl)}">Send a new code</a></p>`;
}

/** The device flow's first page: the code the device shows. `xsrf` is the engine's own token for /activate. */
export function deviceCodeForm(o: { action: string; xsrf: string; userCode?: string; error?: string }) {
  return `<p>Enter the code displayed on your device.</p>
${alert(o.error)}
<form method="post" action="${esc(o.action)}" novalidate>
<input type="hidden" name="xsrf" value="${esc(o.xsrf)}">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" required autofocus value="${esc(o.userCode ?? '')}"${o.error ? ' aria-describedby="form-error"' : ''}>
<button type="submit">Continue</button>
</form>`;
}

/** The device flow's confirmation: the code, and which application the device is. */
export function deviceConfirmForm(o: { action: string; xsrf: string; userCode: string; appName: string }) {
  return `<p>${esc(o.appName)} wants to access your account from a device.</p>
<p>Please confirm this is the code displayed on your device:</p>
<p><code id="user-code" aria-label="Secure code">${esc(o.userCode)}</code></p>
<p>If you did not start this on your device, or the codes differ, cancel.</p>
<form method="post" action="${esc(o.action)}">
<input type="hidden" name="xsrf" value="${esc(o.xsrf)}"><input type="hidden" name="user_code" value="${esc(o.userCode)}">
<button type="submit" name="confirm" value="yes" autofocus>Confirm</button>
<button type="submit" name="abort" value="yes">Cancel</button>
</form>`;
}
