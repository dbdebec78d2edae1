import { sql, type CompiledQuery, type Kysely, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { Backend, Db } from './db.ts';
import type { Database, OidcPayloadRow, SigningKeyRow, TenantRow, UserRow } from './schema.ts';
import { ConcurrentWrites, UniqueViolation } from '../lib/errors.ts';
import { deleteConnectionGroups } from './group-store.ts';

export type DocTable = 'clients' | 'resource_servers' | 'client_grants' | 'connections' | 'roles' | 'organizations' | 'invitations'
  | 'rules' | 'hooks' | 'custom_domains' | 'actions' | 'forms' | 'flows' | 'self_service_profiles' | 'phone_providers'
  | 'scim_configurations' | 'scim_tokens' | 'connection_keys';
/** Tenant documents kept per connection (a kind and the connection's id), deleted with the connection. */
const CONNECTION_DOCS = ['directory-provisioning'] as const;
export const connectionDocName = (kind: typeof CONNECTION_DOCS[number], connectionId: string) => `${kind}:${connectionId}`;
export interface Page { offset: number; limit: number }
export interface Doc<T> { id: string; data: T; created_at: string; updated_at: string }

const now = () => new Date().toISOString();

export function isUniqueViolation(e: any): boolean {
  return e?.code === '23505' || /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(e?.code ?? '');
}
async function guard<T>(p: Promise<T>): Promise<T> {
  try { return await p; } catch (e) { if (isUniqueViolation(e)) throw new UniqueViolation((e as Error).message); throw e; }
}

/** What a read-modify-write attempt returns when another writer landed between its read and its write. */
export const RETRY = Symbol('retry');

/**
 * Runs a read-modify-write whose write is conditional on what it read, again
 * while concurrent writers keep landing first; gives up with a 409 after 25 tries.
 */
export async function untilLanded<T>(attempt: () => Promise<T | typeof RETRY>): Promise<T> {
  for (let i = 0; i < 25; i++) {
    const r = await attempt();
    if (r !== RETRY) return r;
  }
  throw new ConcurrentWrites();
}

/**
 * A JSON document table: one row per resource, the document in `data`, and the
 * few columns it is looked up or kept unique by. Clients, APIs, grants,
 * connections, roles, organizations and invitations all live in one of these.
 */
export class DocRepo<T> {
  constructor(private db: Kysely<Database>, private tenantId: string, private table: DocTable) {}

  private base() {
    return (this.db as Kysely<any>).selectFrom(this.table).where('tenant_id', '=', this.tenantId);
  }
  private decode(row: any): Doc<T> & Record<string, any> {
    return { ...row, data: JSON.parse(row.data) };
  }

  async get(id: string) {
    const row = await this.base().selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.decode(row) : undefined;
  }
  async findBy(column: string, value: unknown) {
    const row = await this.base().selectAll().where(column, '=', value).executeTakeFirst();
    return row ? this.decode(row) : undefined;
  }
  async getMany(ids: string[]) {
    if (!ids.length) return [];
    const rows = await this.base().selectAll().where('id', 'in', ids).execute();
    return rows.map((r) => this.decode(r));
  }
  /** Rows matching equality filters, oldest first, with the total when asked. */
  async list(filter: Record<string, unknown> = {}, page?: Page, opts: { total?: boolean; afterId?: string } = {}) {
    let q = this.base();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q = q.where(k, '=', v);
    const total = opts.total ? Number((await q.select((eb: any) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow() as { n: unknown }).n) : undefined;
    let rq = q.selectAll().orderBy('created_at').orderBy('id');
    if (opts.afterId !== undefined) rq = rq.where('id', '>', opts.afterId).clearOrderBy().orderBy('id');
    if (page) rq = rq.limit(page.limit).offset(page.offset);
    const rows = await rq.execute();
    return { items: rows.map((r: any) => this.decode(r)), total };
  }
  async insert(id: string, data: T, columns: Record<string, unknown> = {}) {
    const ts = now();
    await guard((this.db as Kysely<any>).insertInto(this.table)
      .values({ tenant_id: this.tenantId, id, data: JSON.stringify(data), created_at: ts, updated_at: ts, ...columns }).execute());
    return { id, data, created_at: ts, updated_at: ts };
  }
  /**
   * Read-modify-write without lost updates. `change` gets the stored document
   * and returns its new data (and columns); the write lands only if the data is
   * still what was read, otherwise `change` runs again on the fresher document.
   * Undefined when there is no such document.
   */
  async modify(id: string, change: (doc: Doc<T> & Record<string, any>) => { data: T; columns?: Record<string, unknown> } | Promise<{ data: T; columns?: Record<string, unknown> }>) {
    return untilLanded(async () => {
      const row = await this.base().selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const doc = this.decode(row);
      const { data, columns = {} } = await change(doc);
      const ts = now();
      const r = await guard((this.db as Kysely<any>).updateTable(this.table)
        .set({ data: JSON.stringify(data), updated_at: ts, ...columns })
        .where('tenant_id', '=', this.tenantId).where('id', '=', id).where('data', '=', row.data).executeTakeFirst());
      return Number(r.numUpdatedRows) === 1 ? { ...doc, ...columns, data, updated_at: ts } : RETRY;
    });
  }
  async update(id: string, data: T, columns: Record<string, unknown> = {}) {
    const r = await guard((this.db as Kysely<any>).updateTable(this.table)
      .set({ data: JSON.stringify(data), updated_at: now(), ...columns })
      .where('tenant_id', '=', this.tenantId).where('id', '=', id).executeTakeFirst());
    return Number(r.numUpdatedRows) > 0;
  }
  async delete(id: string) {
    const r = await (this.db as Kysely<any>).deleteFrom(this.table)
      .where('tenant_id', '=', this.tenantId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

/**
 * The storage interface for one tenant. Everything above the store speaks to
 * this class; nothing above it writes SQL text.
 */
export class Store {
  readonly db: Kysely<Database>;
  readonly backend: Backend;
  readonly clients: DocRepo<any>;
  readonly resourceServers: DocRepo<any>;
  readonly clientGrants: DocRepo<any>;
  readonly connections: DocRepo<any>;
  readonly roles: DocRepo<any>;
  readonly organizations: DocRepo<any>;
  readonly invitations: DocRepo<any>;
  readonly rules: DocRepo<any>;
  readonly hooks: DocRepo<any>;
  readonly customDomains: DocRepo<any>;
  readonly actions: DocRepo<any>;
  readonly forms: DocRepo<any>;
  readonly flows: DocRepo<any>;
  readonly selfServiceProfiles: DocRepo<any>;
  readonly phoneProviders: DocRepo<any>;
  /** A connection's inbound SCIM configuration; the document id is the connection id. */
  readonly scimConfigurations: DocRepo<any>;
  /** SCIM bearer tokens by `name` (the connection id) and `token_hash`. */
  readonly scimTokens: DocRepo<any>;
  /** A connection's signing keys toward its IdP, by `name` (the connection id). */
  readonly connectionKeys: DocRepo<any>;
  private compiled = new Map<string, CompiledQuery>();

  constructor(readonly handle: Db, readonly tenantId: string) {
    this.db = handle.kysely;
    this.backend = handle.backend;
    this.clients = new DocRepo(this.db, tenantId, 'clients');
    this.resourceServers = new DocRepo(this.db, tenantId, 'resource_servers');
    this.clientGrants = new DocRepo(this.db, tenantId, 'client_grants');
    this.connections = new DocRepo(this.db, tenantId, 'connections');
    this.roles = new DocRepo(this.db, tenantId, 'roles');
    this.organizations = new DocRepo(this.db, tenantId, 'organizations');
    this.invitations = new DocRepo(this.db, tenantId, 'invitations');
    this.rules = new DocRepo(this.db, tenantId, 'rules');
    this.hooks = new DocRepo(this.db, tenantId, 'hooks');
    this.customDomains = new DocRepo(this.db, tenantId, 'custom_domains');
    this.actions = new DocRepo(this.db, tenantId, 'actions');
    this.forms = new DocRepo(this.db, tenantId, 'forms');
    this.flows = new DocRepo(this.db, tenantId, 'flows');
    this.selfServiceProfiles = new DocRepo(this.db, tenantId, 'self_service_profiles');
    this.phoneProviders = new DocRepo(this.db, tenantId, 'phone_providers');
    this.scimConfigurations = new DocRepo(this.db, tenantId, 'scim_configurations');
    this.scimTokens = new DocRepo(this.db, tenantId, 'scim_tokens');
    this.connectionKeys = new DocRepo(this.db, tenantId, 'connection_keys');
  }

  withTenant(tenantId: string) { return new Store(this.handle, tenantId); }

  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }
  /**
   * A transaction of conditional writes: `landed` throws when a write matched
   * no row (another writer came first), which rolls the whole back; false then.
   */
  private async allOrNothing(fn: (trx: Transaction<Database>, landed: (r: { numUpdatedRows: bigint }) => void) => Promise<void>): Promise<boolean> {
    const lost = new Error('lost the race');
    try {
      await this.transaction((trx) => fn(trx, (r) => { if (Number(r.numUpdatedRows) !== 1) throw lost; }));
      return true;
    } catch (e) {
      if (e === lost) return false;
      throw e;
    }
  }

  // --- tenant -------------------------------------------------------------
  async getTenant(): Promise<(TenantRow & { settingsObj: any }) | undefined> {
    const row = await this.db.selectFrom('tenants').selectAll().where('id', '=', this.tenantId).executeTakeFirst();
    return row ? { ...row, settingsObj: JSON.parse(row.settings) } : undefined;
  }
  async createTenant(name: string, settings: object) {
    await guard(this.db.insertInto('tenants').values({ id: this.tenantId, name, settings: JSON.stringify(settings), created_at: now() }).execute());
  }
  /** Read-modify-write of the settings, landing only over what was read (as DocRepo.modify). */
  async modifyTenantSettings<S extends object>(change: (settings: any) => S | Promise<S>): Promise<S> {
    return untilLanded(async () => {
      const row = await this.db.selectFrom('tenants').select('settings').where('id', '=', this.tenantId).executeTakeFirstOrThrow();
      const next = await change(JSON.parse(row.settings));
      const r = await this.db.updateTable('tenants').set({ settings: JSON.stringify(next) })
        .where('id', '=', this.tenantId).where('settings', '=', row.settings).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1 ? next : RETRY;
    });
  }

  // --- per-tenant singleton documents ---------------------------------------
  async getTenantDoc<T = any>(name: string): Promise<T | undefined> {
    const row = await this.db.selectFrom('tenant_documents').select('data')
      .where('tenant_id', '=', this.tenantId).where('name', '=', name).executeTakeFirst();
    return row ? JSON.parse(row.data) : undefined;
  }
  async putTenantDoc(name: string, data: object) {
    const ts = now();
    await this.db.insertInto('tenant_documents')
      .values({ tenant_id: this.tenantId, name, data: JSON.stringify(data), created_at: ts, updated_at: ts })
      .onConflict((oc) => oc.columns(['tenant_id', 'name']).doUpdateSet({ data: JSON.stringify(data), updated_at: ts })).execute();
  }
  /**
   * Read-modify-write of a singleton document (as DocRepo.modify): `change` gets
   * the stored data (undefined when there is none yet) and returns the new data;
   * it lands only over what was read, or runs again on the fresher document.
   */
  async modifyTenantDoc<T extends object>(name: string, change: (stored: T | undefined) => T | Promise<T>): Promise<T> {
    return untilLanded(async () => {
      const row = await this.db.selectFrom('tenant_documents').select('data')
        .where('tenant_id', '=', this.tenantId).where('name', '=', name).executeTakeFirst();
      const next = await change(row ? JSON.parse(row.data) : undefined);
      const ts = now();
      const r = row
        ? await this.db.updateTable('tenant_documents').set({ data: JSON.stringify(next), updated_at: ts })
          .where('tenant_id', '=', this.tenantId).where('name', '=', name).where('data', '=', row.data).executeTakeFirst()
        : await this.db.insertInto('tenant_documents').values({ tenant_id: this.tenantId, name, data: JSON.stringify(next), created_at: ts, updated_at: ts })
          .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing()).executeTakeFirst();
      const landed = 'numUpdatedRows' in r ? Number(r.numUpdatedRows) : Number(r.numInsertedOrUpdatedRows ?? 0);
      return landed === 1 ? next : RETRY;
    });
  }
  async deleteTenantDoc(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('tenant_documents').where('tenant_id', '=', this.tenantId).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
  /** Every document whose name starts with `prefix` (a family such as one per screen), by name. */
  async listTenantDocs<T = any>(prefix: string): Promise<{ name: string; data: T }[]> {
    // LIKE narrows (`_` and `%` in the prefix only widen it, and SQLite ignores case); the exact test is below.
    const rows = await this.db.selectFrom('tenant_documents').select(['name', 'data'])
      .where('tenant_id', '=', this.tenantId).where('name', 'like', `${prefix}%`).execute();
    return rows.filter((r) => r.name.startsWith(prefix)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => ({ name: r.name, data: JSON.parse(r.data) }));
  }

  // --- signing keys -------------------------------------------------------
  listKeys(): Promise<SigningKeyRow[]> {
    return this.db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', this.tenantId).orderBy('created_at').execute();
  }
  async insertKey(row: Omit<SigningKeyRow, 'tenant_id'>) {
    await guard(this.db.insertInto('signing_keys').values({ ...row, tenant_id: this.tenantId }).execute());
  }
  async updateKey(kid: string, patch: Partial<SigningKeyRow>) {
    await this.db.updateTable('signing_keys').set(patch).where('tenant_id', '=', this.tenantId).where('kid', '=', kid).execute();
  }
  /**
   * One rotation, all or nothing: `current` becomes previous, `next` becomes
   * current (or `fresh.current` is inserted when there was no next), and
   * `fresh.next` is inserted. Each step names the status it expects, so of
   * rotations racing from the same keys one wins and the rest change nothing
   * and return false.
   */
  async rotateKeys(expect: { current?: string; next?: string }, ts: string, fresh: { next: Omit<SigningKeyRow, 'tenant_id'>; current?: Omit<SigningKeyRow, 'tenant_id'> }): Promise<boolean> {
    const lost = new Error('lost the rotation race');
    try {
      await this.transaction(async (trx) => {
        const move = async (kid: string, from: string, patch: Partial<SigningKeyRow>) => {
          const r = await trx.updateTable('signing_keys').set(patch).where('tenant_id', '=', this.tenantId).where('kid', '=', kid).where('status', '=', from as any).executeTakeFirst();
          if (Number(r.numUpdatedRows) !== 1) throw lost;
        };
        if (expect.current) await move(expect.current, 'current', { status: 'previous', current_until: ts });
        if (expect.next) await move(expect.next, 'next', { status: 'current', current_since: ts });
        else if (fresh.current) await trx.insertInto('signing_keys').values({ ...fresh.current, tenant_id: this.tenantId }).execute();
        await trx.insertInto('signing_keys').values({ ...fresh.next, tenant_id: this.tenantId }).execute();
      });
      return true;
    } catch (e) {
      if (e === lost || isUniqueViolation(e)) return false;
      throw e;
    }
  }

  /**
   * First row of a hot lookup whose SQL never changes, compiled once: Kysely
   * would rebuild and recompile it on every call (the token path runs several
   * per request). `params` are the query's parameters in SQL order.
   */
  private async firstRow<T>(key: string, params: unknown[], build: () => { compile(): CompiledQuery }): Promise<T | undefined> {
    // Kysely's executor costs a point read on the token path more than SQLite does.
    const rows = this.handle.readNow?.(this.compiledQuery(key, params, build).sql, params);
    if (rows) return rows[0] as T | undefined;
    return (await this.runCompiled<T>(key, params, build)).rows[0];
  }
  private compiledQuery(key: string, params: unknown[], build: () => { compile(): CompiledQuery }) {
    let q = this.compiled.get(key);
    if (!q) {
      q = build().compile();
      if (q.parameters.length !== params.length) throw new Error(`compiled ${key}: ${q.parameters.length} parameters, ${params.length} given`);
      this.compiled.set(key, q);
    }
    return q;
  }
  private runCompiled<T>(key: string, params: unknown[], build: () => { compile(): CompiledQuery }) {
    return this.db.executeQuery<T>({ ...this.compiledQuery(key, params, build), parameters: params });
  }

  // --- users --------------------------------------------------------------
  /**
   * A user. An identity linked into another user is not one any more, so it is
   * found only with `linked` (its connection's logins, tickets and SCIM still need it).
   */
  getUser(userId: string, opts: { linked?: boolean } = {}): Promise<UserRow | undefined> {
    if (opts.linked) {
      return this.firstRow('getUserOrIdentity', [this.tenantId, userId],
        () => this.db.selectFrom('users').selectAll().where('tenant_id', '=', this.tenantId).where('user_id', '=', userId));
    }
    return this.firstRow('getUser', [this.tenantId, userId],
      () => this.db.selectFrom('users').selectAll().where('tenant_id', '=', this.tenantId).where('user_id', '=', userId).where('linked_to', 'is', null));
  }
  usersByEmail(email: string): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().where('tenant_id', '=', this.tenantId)
      .where('email_norm', '=', email.toLowerCase()).where('linked_to', 'is', null).orderBy('created_at').execute();
  }
  /** The identity a connection holds for an email, linked or not: what a login or a ticket in that connection names. */
  userByConnectionEmail(connection: string, email: string): Promise<UserRow | undefined> {
    return this.firstRow('userByConnectionEmail', [this.tenantId, connection, email.toLowerCase()],
      () => this.db.selectFrom('users').selectAll().where('tenant_id', '=', this.tenantId)
        .where('connection', '=', connection).where('email_norm', '=', email.toLowerCase()));
  }
  /** Counts a login in the database, so concurrent logins of one user all count. */
  async recordLogin(userId: string, at: string, ip: string) {
    await this.runCompiled('recordLogin', [at, ip, this.tenantId, userId], () => this.db.updateTable('users')
      .set({ last_login: at, last_ip: ip, logins_count: sql<number>`logins_count + 1` })
      .where('tenant_id', '=', this.tenantId).where('user_id', '=', userId));
  }
  async insertUser(row: Omit<UserRow, 'tenant_id'>) {
    await guard(this.db.insertInto('users').values({ ...row, tenant_id: this.tenantId }).execute());
  }
  /**
   * Writes `patch` if the user's merged columns (metadata and `data`) still hold
   * what `read` holds, so concurrent merges cannot drop each other's keys; false
   * when another write came in between (read again and retry).
   */
  async updateUser(userId: string, patch: Partial<UserRow>, read: Pick<UserRow, 'app_metadata' | 'user_metadata' | 'data'>): Promise<boolean> {
    const r = await guard(this.db.updateTable('users').set(patch).where('tenant_id', '=', this.tenantId).where('user_id', '=', userId)
      .where('app_metadata', '=', read.app_metadata).where('user_metadata', '=', read.user_metadata).where('data', '=', read.data).executeTakeFirst());
    return Number(r.numUpdatedRows) === 1;
  }
  /** Deletes the user, the identities linked into it and every row that hangs off them, in one transaction. */
  async deleteUser(userId: string): Promise<boolean> {
    return this.transaction(async (trx) => (await this.deleteUsersIn(trx, 'user_id', userId)) > 0);
  }
  /** The identities linked into a user, oldest link first. */
  linkedIdentities(primaryId: string): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().where('tenant_id', '=', this.tenantId).where('linked_to', '=', primaryId).orderBy('updated_at').execute();
  }
  /**
   * Links `secondaryId` into `primaryId` in one transaction, or changes nothing
   * and returns false when either moved since `read` (the primary's identities
   * changed, the secondary got linked or gained identities of its own). The
   * secondary stops being a user: its roles, permissions, memberships, sessions
   * and tokens go, as Auth0 drops them.
   */
  async linkUser(primaryId: string, secondaryId: string, read: { identities: string }, identities: string, at: string): Promise<boolean> {
    const t = this.tenantId;
    return this.allOrNothing(async (trx, landed) => {
      landed(await trx.updateTable('users').set({ identities, updated_at: at }).where('tenant_id', '=', t).where('user_id', '=', primaryId)
        .where('linked_to', 'is', null).where('identities', '=', read.identities).executeTakeFirstOrThrow());
      landed(await trx.updateTable('users').set({ linked_to: primaryId, updated_at: at }).where('tenant_id', '=', t).where('user_id', '=', secondaryId)
        .where('linked_to', 'is', null)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('users as l').select('l.user_id').where('l.tenant_id', '=', t).where('l.linked_to', '=', secondaryId))))
        .executeTakeFirstOrThrow());
      await this.deleteHangingRows(trx, [secondaryId]);
    });
  }
  /** Replaces a user's identities if they are still what was read. */
  async setIdentities(userId: string, read: { identities: string }, identities: string): Promise<boolean> {
    const r = await this.db.updateTable('users').set({ identities }).where('tenant_id', '=', this.tenantId).where('user_id', '=', userId)
      .where('identities', '=', read.identities).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Undoes a link in one transaction; false when the primary's identities changed since `read` or the identity is not linked into it. */
  async unlinkUser(primaryId: string, secondaryId: string, read: { identities: string }, identities: string, at: string): Promise<boolean> {
    const t = this.tenantId;
    return this.allOrNothing(async (trx, landed) => {
      landed(await trx.updateTable('users').set({ identities, updated_at: at }).where('tenant_id', '=', t).where('user_id', '=', primaryId)
        .where('identities', '=', read.identities).executeTakeFirstOrThrow());
      landed(await trx.updateTable('users').set({ linked_to: null, updated_at: at }).where('tenant_id', '=', t).where('user_id', '=', secondaryId)
        .where('linked_to', '=', primaryId).executeTakeFirstOrThrow());
    });
  }

  /**
   * Deletes a connection with its users (as Auth0 does), its groups and the
   * organizations' links to it, in one transaction: a connection made later under the same
   * name starts empty. False when there was no such connection.
   */
  async deleteConnection(id: string, name: string): Promise<boolean> {
    return this.transaction(async (trx) => {
      await this.deleteUsersIn(trx, 'connection', name);
      await trx.deleteFrom('organization_connections').where('tenant_id', '=', this.tenantId).where('connection_id', '=', id).execute();
      await trx.deleteFrom('scim_configurations').where('tenant_id', '=', this.tenantId).where('id', '=', id).execute();
      for (const table of ['scim_tokens', 'connection_keys'] as const) await trx.deleteFrom(table).where('tenant_id', '=', this.tenantId).where('name', '=', id).execute();
      await deleteConnectionGroups(trx, this.tenantId, id);
      await trx.deleteFrom('tenant_documents').where('tenant_id', '=', this.tenantId).where('name', 'in', CONNECTION_DOCS.map((kind) => connectionDocName(kind, id))).execute();
      const r = await trx.deleteFrom('connections').where('tenant_id', '=', this.tenantId).where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }
  /** The application and its client grants, in one transaction. */
  async deleteClient(clientId: string): Promise<void> {
    await this.transaction(async (trx) => {
      await trx.deleteFrom('client_grants').where('tenant_id', '=', this.tenantId).where('client_id', '=', clientId).execute();
      await trx.deleteFrom('clients').where('tenant_id', '=', this.tenantId).where('id', '=', clientId).execute();
    });
  }
  /**
   * The API with its client grants and every role's and user's permissions on
   * it, in one transaction: an API made later under the same identifier grants
   * nothing it was not given itself.
   */
  async deleteResourceServer(id: string, identifier: string): Promise<void> {
    await this.transaction(async (trx) => {
      const t = this.tenantId;
      await trx.deleteFrom('client_grants').where('tenant_id', '=', t).where('audience', '=', identifier).execute();
      for (const table of ['role_permissions', 'user_permissions'] as const) {
        await trx.deleteFrom(table).where('tenant_id', '=', t).where('resource_server_identifier', '=', identifier).execute();
      }
      await trx.deleteFrom('resource_servers').where('tenant_id', '=', t).where('id', '=', id).execute();
    });
  }
  /**
   * The users matching `column = value` with the identities linked into them,
   * and every row that hangs off them; how many rows went. By id, only a user
   * matches (a linked identity is unlinked, not deleted). A linked identity that
   * goes with its connection also leaves its primary's identities.
   */
  private async deleteUsersIn(trx: Transaction<Database>, column: 'user_id' | 'connection', value: string): Promise<number> {
    const t = this.tenantId;
    const direct = () => {
      const q = trx.selectFrom('users as d').select('d.user_id').where('d.tenant_id', '=', t).where(`d.${column}` as 'd.user_id', '=', value);
      return column === 'user_id' ? q.where('d.linked_to', 'is', null) : q;
    };
    const orphans = column === 'connection'
      ? await trx.selectFrom('users').select(['user_id', 'linked_to']).where('tenant_id', '=', t).where('connection', '=', value)
        .where('linked_to', 'is not', null).where('linked_to', 'not in', direct()).execute()
      : [];
    const ids = trx.selectFrom('users').select('user_id').where('tenant_id', '=', t)
      .where((eb) => eb.or([eb('user_id', 'in', direct()), eb('linked_to', 'in', direct())]));
    await this.deleteHangingRows(trx, ids);
    for (const o of orphans) {
      const primary = await trx.selectFrom('users').select('identities').where('tenant_id', '=', t).where('user_id', '=', o.linked_to!).executeTakeFirst();
      if (!primary) continue;
      const left = JSON.parse(primary.identities).filter((i: { provider: string; user_id: string }) => `${i.provider}|${i.user_id}` !== o.user_id);
      await trx.updateTable('users').set({ identities: JSON.stringify(left) }).where('tenant_id', '=', t).where('user_id', '=', o.linked_to!).execute();
    }
    const r = await trx.deleteFrom('users').where('tenant_id', '=', t)
      .where((eb) => eb.or([eb('user_id', 'in', direct()), eb('linked_to', 'in', direct())])).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  /** What hangs off users: roles, permissions, memberships, and their sessions and tokens. */
  private async deleteHangingRows(trx: Transaction<Database>, ids: string[] | SelectQueryBuilder<Database, any, { user_id: string }>) {
    const t = this.tenantId;
    for (const table of ['user_roles', 'user_permissions', 'organization_members', 'organization_member_roles', 'group_members'] as const) {
      await trx.deleteFrom(table).where('tenant_id', '=', t).where('user_id', 'in', ids).execute();
    }
    await trx.deleteFrom('oidc_payloads').where('tenant_id', '=', t).where('account_id', 'in', ids).execute();
  }
  /** The tenant's users; `linked` also yields the identities linked into other users. */
  usersQuery(opts: { linked?: boolean } = {}) {
    const q = this.db.selectFrom('users').where('users.tenant_id', '=', this.tenantId);
    return opts.linked ? q : q.where('users.linked_to', 'is', null);
  }

  // --- oidc-provider payloads ----------------------------------------------
  /** Compiled once (a login saves about eight payloads); parameters: the row's columns in this order, then the updated ones again. */
  async upsertPayload(row: Omit<OidcPayloadRow, 'tenant_id'>) {
    const { model, id, payload, grant_id, uid, user_code, account_id, expires_at, consumed_at } = row;
    const updated = [payload, grant_id, uid, user_code, account_id, expires_at, consumed_at].map((v) => v ?? null);
    await this.runCompiled('upsertPayload', [model, id, ...updated, this.tenantId, ...updated], () => {
      const v = { payload: 'p', grant_id: 'g', uid: 'u', user_code: 'c', account_id: 'a', expires_at: 1, consumed_at: 1 };
      return this.db.insertInto('oidc_payloads').values({ model: 'm', id: 'i', ...v, tenant_id: this.tenantId })
        .onConflict((oc) => oc.columns(['tenant_id', 'model', 'id']).doUpdateSet(v));
    });
  }
  findPayload(model: string, column: 'id' | 'uid' | 'user_code', value: string): Promise<OidcPayloadRow | undefined> {
    return this.firstRow(`findPayload:${column}`, [this.tenantId, model, value],
      () => this.db.selectFrom('oidc_payloads').selectAll().where('tenant_id', '=', this.tenantId).where('model', '=', model).where(column, '=', value));
  }
  async consumePayload(model: string, id: string) {
    const now = Math.floor(Date.now() / 1000);
    await this.runCompiled('consumePayload', [now, this.tenantId, model, id], () => this.db.updateTable('oidc_payloads')
      .set({ consumed_at: now }).where('tenant_id', '=', this.tenantId).where('model', '=', model).where('id', '=', id));
  }
  /** Marks a payload consumed only if it was not; true for the one caller that won. */
  async claimPayload(model: string, id: string): Promise<boolean> {
    const now = Math.floor(Date.now() / 1000);
    const r = await this.runCompiled('claimPayload', [now, this.tenantId, model, id], () => this.db.updateTable('oidc_payloads')
      .set({ consumed_at: now }).where('tenant_id', '=', this.tenantId).where('model', '=', model).where('id', '=', id)
      .where('consumed_at', 'is', null));
    return Number(r.numAffectedRows ?? 0) > 0;
  }
  /** Replaces an unconsumed payload's data only while it still reads `expected`; true for the one caller that won. */
  async swapPayload(model: string, id: string, expected: string, next: string): Promise<boolean> {
    const r = await this.db.updateTable('oidc_payloads').set({ payload: next })
      .where('tenant_id', '=', this.tenantId).where('model', '=', model).where('id', '=', id)
      .where('payload', '=', expected).where('consumed_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows ?? 0) > 0;
  }
  async releasePayload(model: string, id: string) {
    await this.db.updateTable('oidc_payloads').set({ consumed_at: null })
      .where('tenant_id', '=', this.tenantId).where('model', '=', model).where('id', '=', id).execute();
  }
  async destroyPayload(model: string, id: string) {
    await this.runCompiled('destroyPayload', [this.tenantId, model, id],
      () => this.db.deleteFrom('oidc_payloads').where('tenant_id', '=', this.tenantId).where('model', '=', model).where('id', '=', id));
  }
  async revokeGrant(grantId: string) {
    await this.db.deleteFrom('oidc_payloads').where('tenant_id', '=', this.tenantId).where('grant_id', '=', grantId).execute();
  }
  listPayloads(model: string, filter: { account_id?: string } = {}) {
    let q = this.db.selectFrom('oidc_payloads').selectAll().where('tenant_id', '=', this.tenantId).where('model', '=', model);
    if (filter.account_id) q = q.where('account_id', '=', filter.account_id);
    return q.execute();
  }
}

export { sql };
