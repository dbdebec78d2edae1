import type { KoaContextWithOIDC } from 'oidc-provider';
import { OIDC_SCOPES } from './account.ts';

// Auth0's user access tokens for an API: the OIDC scopes that were asked for
// are listed in `scope` too, and with `openid` the token is also good at
// /userinfo, so `aud` becomes [api, https://{domain}/userinfo].

export function userAccessTokenClaims(issuer: string, ctx: KoaContextWithOIDC, token: any, payload: any) {
  if (token.kind !== 'AccessToken' || !token.resourceServer) return;
  const e: any = ctx.oidc?.entities ?? {};
  const source: string = e.AuthorizationCode?.scope ?? e.DeviceCode?.scope ?? e.BackchannelAuthenticationRequest?.scope ?? e.RefreshToken?.scope ?? (ctx.oidc?.params?.scope as string | undefined) ?? '';
  const granted = new Set(String(e.Grant?.getOIDCScope?.() ?? '').split(' '));
  const oidc = source.split(' ').filter((s) => OIDC_SCOPES.includes(s) && granted.has(s));
  if (oidc.includes('openid')) {
    const aud = [payload.aud].flat().filter(Boolean);
    payload.aud = [...aud, `${issuer}userinfo`];
  }
  const scopes = [...oidc, ...String(payload.scope ?? '').split(' ').filter(Boolean)];
  if (scopes.length) payload.scope = [...new Set(scopes)].join(' ');
}
