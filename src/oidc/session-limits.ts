// Tenant session limits (session_lifetime and idle_session_lifetime, in hours)
// checked each time a session is read, so a shorter setting applies to
// sessions that already exist, as Auth0 does. The stored expiry alone cannot
// do that: it was computed from the settings of the session's last save.

export interface SessionLimits { session_lifetime?: number | string; idle_session_lifetime?: number | string }

const hours = (v: unknown, fallback: number) => (Number(v) > 0 ? Number(v) : fallback) * 3600;

/** `seen` is stamped on every save by withSessionLimits; older payloads fall back to iat. */
export function sessionExpired(payload: { loginTs?: number; iat?: number; seen?: number }, limits: SessionLimits, now = Date.now() / 1000): boolean {
  const start = payload.loginTs ?? payload.iat;
  const seen = payload.seen ?? payload.iat;
  if (typeof start === 'number' && start + hours(limits.session_lifetime, 168) <= now) return true;
  return typeof seen === 'number' && seen + hours(limits.idle_session_lifetime, 72) <= now;
}

/** Wraps the storage adapter: Session payloads carry their last use and expire by the tenant's limits. */
export function withSessionLimits(Base: any, limits: () => SessionLimits) {
  return class SessionLimitedAdapter extends Base {
    private isSession: boolean;
    constructor(model: string) { super(model); this.isSession = model === 'Session'; }
    private check(payload: any) {
      return payload && this.isSession && sessionExpired(payload, limits()) ? undefined : payload;
    }
    async upsert(id: string, payload: any, expiresIn: number) {
      return super.upsert(id, this.isSession ? { ...payload, seen: Math.floor(Date.now() / 1000) } : payload, expiresIn);
    }
    async find(id: string) { return this.check(await super.find(id)); }
    async findByUid(uid: string) { return this.check(await super.findByUid(uid)); }
  };
}
