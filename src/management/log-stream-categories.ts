// The category a log stream filter names for each event type Auth0 documents
// (Log Stream Filters); an event type outside these is `other`. Postern records
// only some of these types, but a filter must read the same as in Auth0.

const CATEGORIES: Record<string, string[]> = {
  'auth.login.fail': ['f', 'fc', 'fco', 'fcoa', 'fens', 'fp', 'fu'],
  'auth.login.notification': ['w'],
  'auth.login.success': ['s', 'scoa', 'sens'],
  'auth.logout.fail': ['flo', 'oidc_backchannel_logout_failed'],
  'auth.logout.success': ['slo', 'oidc_backchannel_logout_succeeded'],
  'auth.signup.fail': ['fs'],
  'auth.signup.success': ['ss'],
  'auth.silent_auth.fail': ['fsa'],
  'auth.silent_auth.success': ['ssa'],
  'management.fail': ['fapi'],
  'management.success': ['sapi'],
  'user.fail': ['fcp', 'fcpr', 'fce', 'fcu', 'fcpn', 'fv', 'fvr', 'fd', 'fdu', 'fui'],
  'user.notification': ['limit_wc', 'limit_mu', 'limit_sul', 'pwd_leak', 'signup_pwd_leak', 'reset_pwd_leak'],
  'user.success': ['scp', 'scpr', 'sce', 'scu', 'scpn', 'sv', 'svr', 'sdu', 'sui'],
  'system.notification': ['api_limit', 'api_limit_warning', 'depnote', 'sys_os_update_start', 'sys_os_update_end'],
  actions: ['actions_execution_failed'],
};
const BY_TYPE = new Map(Object.entries(CATEGORIES).flatMap(([category, types]) => types.map((t): [string, string] => [t, category])));

/** Token exchanges are the `se…ft` (success) and `fe…ft` (failure) family. */
export function categoryOf(type: string): string {
  const known = BY_TYPE.get(type);
  if (known) return known;
  if (/^se[a-z]*ft$/.test(type)) return 'auth.token_exchange.success';
  if (/^fe[a-z]*ft$/.test(type)) return 'auth.token_exchange.fail';
  return 'other';
}
