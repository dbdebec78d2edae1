// The engine's own DPoP proof checks, which its built-in grants use. Auth0's
// grants registered with registerGrantType bind their tokens through the same code.
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  export interface DpopResult { thumbprint: string; jti: string; iat: number }
  export default function validateDpop(provider: unknown, ctx: unknown, accessToken?: string): Promise<DpopResult | undefined>;
  export function checkDpopReplay(provider: unknown, ctx: unknown, dPoP: DpopResult | undefined, clientId: string, ErrorClass?: unknown): Promise<void>;
}
