import { randomInt } from 'node:crypto';
import { alnum } from '../lib/ids.ts';
import { insertEvent, pruneEvents } from '../store/event-store.ts';
import type { UserRow } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { Env } from './env.ts';
import { userJson } from './users.ts';

// Auth0's user events (user.created, user.updated, user.deleted) as the
// CloudEvents Auth0 publishes, kept for GET /api/v2/events to serve. They are
// written once the user write has landed; failing to keep one is logged and
// does not undo the write. Webhook event streams receive them from the table
// too (management/event-stream-dispatch.ts), after the write and beside it.
// Postern emits no organization or group events.

export const EVENT_RETENTION_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** The UTC time to the millisecond in 17 digits: how every position at that time begins. */
const timeKey = (ms: number) => new Date(ms).toISOString().replace(/\D/g, '').slice(0, 17);
/** A position is that time, a per-process counter and random digits, neither of them zero. */
export const POSITION = /^\d{29}$/;
/** A cursor just before every event at or after `ms`. */
export const cursorAt = (ms: number) => `${timeKey(ms)}${'0'.repeat(12)}`;
/** When a position's event happened; NaN for digits that are no time. */
export function timeOf(position: string): number {
  const d = position.slice(0, 17);
  const t = Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(8, 10), +d.slice(10, 12), +d.slice(12, 14), +d.slice(14));
  return Number.isFinite(t) && timeKey(t) === d ? t : NaN;
}

/**
 * How old an event must be before a reader passes it: a position is its node's
 * time before the insert, so one still landing on another node is not skipped.
 */
export const SETTLE_MS = 1_000;

let seq = 0;
const newPosition = (ms: number) => {
  seq = (seq % 999_999) + 1;
  return `${timeKey(ms)}${String(seq).padStart(6, '0')}${String(randomInt(1, 1_000_000)).padStart(6, '0')}`;
};
const lastPrune = new WeakMap<Store, number>();

async function keep(env: Env, type: string, object: Record<string, unknown>) {
  const now = Date.now();
  const tenant = env.config.domain.replace(/:\d+$/, '');
  const event = {
    specversion: '1.0', type, source: `urn:auth0:${tenant}:users`, id: `evt_${alnum(16)}`, time: new Date(now).toISOString(),
    data: { object }, a0tenant: tenant,
  };
  try {
    await insertEvent(env.store, { position: newPosition(now), type, data: JSON.stringify(event) });
  } catch (e) {
    env.log.warn({ err: (e as Error).message, type }, 'user event not kept');
  }
  if (now - (lastPrune.get(env.store) ?? 0) > PRUNE_EVERY_MS) {
    lastPrune.set(env.store, now);
    // Beside the write, which does not wait for it.
    void pruneEvents(env.store, cursorAt(now - EVENT_RETENTION_MS)).catch((e) => env.log.warn({ err: (e as Error).message }, 'user events pruning failed'));
  }
}

export const announceUser = (env: Env, type: 'user.created' | 'user.updated', row: UserRow) => keep(env, type, userJson(row));

/** Deletes a user (as Store.deleteUser) and, when one was deleted, tells of it. */
export async function removeUser(env: Env, userId: string): Promise<boolean> {
  const row = await env.store.getUser(userId);
  const gone = await env.store.deleteUser(userId);
  if (gone && row) await keep(env, 'user.deleted', { ...userJson(row), deleted_at: new Date().toISOString() });
  return gone;
}
