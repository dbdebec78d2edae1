// A fixed-window limiter per client. Auth0 sends the limit, what is left and
// the window's end as epoch seconds; baton-sdk and the Auth0 SDKs read all three.
export class RateLimiter {
  private windows = new Map<string, { reset: number; used: number }>();
  constructor(private limit: number, private windowSeconds = 60) {}

  take(key: string) {
    const now = Math.floor(Date.now() / 1000);
    let w = this.windows.get(key);
    if (!w || w.reset <= now) {
      w = { reset: now + this.windowSeconds, used: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 10_000) this.sweep(now);
    }
    const allowed = w.used < this.limit;
    if (allowed) w.used += 1;
    return { allowed, limit: this.limit, remaining: Math.max(0, this.limit - w.used), reset: w.reset };
  }
  private sweep(now: number) {
    for (const [k, w] of this.windows) if (w.reset <= now) this.windows.delete(k);
  }
}
