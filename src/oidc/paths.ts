// Auth0's endpoint paths, given to the engine so it serves them directly.
export const AUTH0_PATHS = {
  authorization: '/authorize',
  token: '/oauth/token',
  jwks: '/.well-known/jwks.json',
  userinfo: '/userinfo',
  revocation: '/oauth/revoke',
  end_session: '/oidc/logout',
  registration: '/oidc/register',
  pushed_authorization_request: '/oauth/par',
  device_authorization: '/oauth/device/code',
  code_verification: '/activate',
  introspection: '/oauth/introspect',
  backchannel_authentication: '/bc-authorize',
};
