import { bench } from './lib/config.ts';
import { settled } from './lib/http.ts';
import { createApi, createApp, createUser, PASSWORD } from './lib/fixtures.ts';
import { fmt, heading, note, record, skipped, verdict } from './lib/report.ts';
import type { BenchServer } from './lib/server.ts';
import { decodeJwt, refreshLoad, refreshOnce, userTokens } from './lib/user-tokens.ts';

// Issue 4: token issuance for a user with 200 permissions across 10 roles
// against a user with none, on an API with RBAC and the permissions claim.
// Measured with refresh grants, so bcrypt does not hide the RBAC cost.
const TARGET = 0.2;
const ROLES = 10, PER_ROLE = 20;
const TOKENS = 8;

async function must(p: Promise<{ status: number; body: any }>, what: string) {
  const r = await p;
  if (r.status < 200 || r.status >= 300) throw new Error(`${what} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 160)}`);
  return r.body;
}

export async function rbacTokensBench(s: BenchServer) {
  heading(`token issuance with ${ROLES * PER_ROLE} permissions across ${ROLES} roles (issue 4)`);
  const metric = 'token issuance overhead, 200 permissions vs none';
  const token = await s.token();
  const perms = Array.from({ length: ROLES * PER_ROLE }, (_, i) => `act:resource_${String(i).padStart(3, '0')}`);
  const api = await createApi(s, token, { scopes: perms, rbac: true });
  const app = await createApp(s, token);
  const rich = await createUser(s, token, 'rbac-rich');
  const plain = await createUser(s, token, 'rbac-none');
  try {
    const roleIds: string[] = [];
    for (let r = 0; r < ROLES; r++) {
      const role = await must(s.api('POST', '/roles', { name: `bench-rbac-${Date.now()}-${r}`, description: 'bench' }, token), 'POST /roles');
      await must(s.api('POST', `/roles/${role.id}/permissions`, {
        permissions: perms.slice(r * PER_ROLE, (r + 1) * PER_ROLE).map((permission_name) => ({ resource_server_identifier: api.identifier, permission_name })),
      }, token), 'POST /roles/{id}/permissions');
      roleIds.push(role.id);
    }
    await must(s.api('POST', `/users/${encodeURIComponent(rich.user_id)}/roles`, { roles: roleIds }, token), 'POST /users/{id}/roles');
  } catch (e) {
    return skipped('rbac', metric, `RBAC Management API not available (${(e as Error).message})`);
  }

  const tokensFor = async (email: string) => {
    const all = await Promise.all(Array.from({ length: TOKENS }, () => userTokens(app, email, PASSWORD, { audience: api.identifier, scope: 'openid offline_access', refresh: true })));
    const rts = all.map((a) => a.tokens.refresh_token);
    if (rts.some((t) => !t)) throw new Error('no refresh_token with offline_access');
    return { rts, via: all[0].via };
  };
  let richT, plainT, rotating = false;
  try {
    const check = async (rts: string[]) => {
      const probe = await refreshOnce(app, rts[0]);
      const claim = decodeJwt(probe.access_token).permissions;
      if (!Array.isArray(claim)) throw new Error('the refreshed access token has no permissions claim (RBAC not applied yet)');
      if (claim.length !== perms.length) throw new Error(`the permissions claim has ${claim.length} entries, expected ${perms.length}`);
      return probe;
    };
    richT = await settled(() => tokensFor(rich.email));
    plainT = await tokensFor(plain.email);
    const probe = await settled(() => check(richT!.rts));
    const none = decodeJwt((await refreshOnce(app, plainT.rts[0])).access_token).permissions;
    if (Array.isArray(none) && none.length) throw new Error(`the user without roles got ${none.length} permissions`);
    if (probe.refresh_token && probe.refresh_token !== richT.rts[0]) rotating = true;
  } catch (e) {
    return skipped('rbac', metric, (e as Error).message);
  }
  note(`refresh tokens from the ${richT.via}; the rich user's access token carries ${perms.length} permissions`);

  // B, A, B: the user without permissions is measured on both sides of the other to cancel drift.
  const secs = Math.max(1, Math.round(bench.duration * 0.6));
  const b1 = await refreshLoad(s, app, plainT.rts, rotating, secs, s.cpuSeconds);
  const a = await refreshLoad(s, app, richT.rts, rotating, secs, s.cpuSeconds);
  const b2 = await refreshLoad(s, app, plainT.rts, rotating, secs, s.cpuSeconds);
  const base = (b1.rps + b2.rps) / 2;
  const overhead = 1 - a.rps / base;
  record({ section: 'rbac', metric: 'refresh grants/s, user with no permissions', value: `${fmt.rate(base)} (${fmt.rate(b1.rps)}, ${fmt.rate(b2.rps)})` });
  record({ section: 'rbac', metric: `refresh grants/s, user with ${perms.length} permissions / ${ROLES} roles`, value: fmt.rate(a.rps) });
  record({ section: 'rbac', metric: `${metric} (throughput)`, value: `${(overhead * 100).toFixed(1)}%`, target: `≤ ${TARGET * 100}%`, verdict: verdict(overhead, TARGET, 'lower') });
  if (a.cpuMsPer && b1.cpuMsPer && b2.cpuMsPer) {
    const baseCpu = (b1.cpuMsPer + b2.cpuMsPer) / 2;
    const cpuOverhead = a.cpuMsPer / baseCpu - 1;
    record({ section: 'rbac', metric: `${metric} (server CPU per token)`, value: `${(cpuOverhead * 100).toFixed(1)}%  (${fmt.ms(a.cpuMsPer)} vs ${fmt.ms(baseCpu)})`, target: `≤ ${TARGET * 100}%`, verdict: verdict(cpuOverhead, TARGET, 'lower') });
  }
}
