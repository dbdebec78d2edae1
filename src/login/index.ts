import Router from '@koa/router';
import type { Env } from '../tenant/env.ts';
import type { Engine } from '../oidc/provider.ts';
import { loginRoutes } from './login.ts';
import { signupRoutes } from './signup.ts';
import { consentRoutes } from './consent.ts';
import { logoutRoutes } from './logout.ts';
import { resetPasswordRoutes } from './reset-password.ts';
import { verifyEmailRoutes } from './verify-email.ts';
import { dbConnectionRoutes } from './dbconnections.ts';
import { organizationRoutes } from './organization.ts';
import { federatedRoutes } from './federated.ts';
import { continueRoutes } from './continue.ts';
import { mfaRoutes } from './mfa.ts';
import { passwordlessRoutes } from './passwordless.ts';
import { passwordlessVerifyRoutes } from './passwordless-verify.ts';
import { passkeyRoutes } from './passkeys.ts';
import { cibaRoutes } from './ciba.ts';
import { crossOriginRoutes } from './cross-origin.ts';
import { classicRoutes } from './classic.ts';
import { lockClientRoutes } from './lock-client.ts';

/** Every path loginRouter serves starts with one of these. */
export const LOGIN_PATHS = ['/u/', '/dbconnections/', '/passwordless/', '/passkey/', '/v2/logout', '/login/callback', '/continue', '/co/', '/usernamepassword/', '/user/', '/client/'] as const;

/**
 * Everything a browser or an Auth0 SDK reaches outside the engine's own
 * endpoints: Universal Login pages, logout, database-connection endpoints.
 * Each concern registers its routes from its own file.
 */
export function loginRouter(env: Env, engine: Engine): Router {
  const router = new Router();
  loginRoutes(router, env, engine);
  federatedRoutes(router, env, engine);
  signupRoutes(router, env, engine);
  consentRoutes(router, env, engine);
  organizationRoutes(router, env, engine);
  continueRoutes(router, env, engine);
  mfaRoutes(router, env, engine);
  passwordlessRoutes(router, env, engine);
  passwordlessVerifyRoutes(router, env, engine);
  passkeyRoutes(router, env, engine);
  cibaRoutes(router, env, engine);
  crossOriginRoutes(router, env, engine);
  classicRoutes(router, env, engine);
  lockClientRoutes(router, env, engine);
  logoutRoutes(router, env, engine);
  resetPasswordRoutes(router, env);
  verifyEmailRoutes(router, env);
  dbConnectionRoutes(router, env);
  return router;
}
