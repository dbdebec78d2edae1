import { Kysely, Migrator, PostgresIntrospector, sql, type Migration, type MigrationProvider } from 'kysely';

// Every table leads with tenant_id so one database can hold many tenants.
const docTable = (db: Kysely<any>, name: string) =>
  db.schema.createTable(name)
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint(`${name}_pk`, ['tenant_id', 'id']);

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db) {
      await db.schema.createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('signing_keys')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kid', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('cert', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('current_since', 'text')
        .addColumn('current_until', 'text')
        .addColumn('revoked_at', 'text')
        .addPrimaryKeyConstraint('signing_keys_pk', ['tenant_id', 'kid'])
        .execute();

      await docTable(db, 'clients').addColumn('name', 'text', (c) => c.notNull()).addColumn('secret', 'text').execute();
      await docTable(db, 'resource_servers').addColumn('identifier', 'text', (c) => c.notNull()).execute();
      await db.schema.createIndex('resource_servers_identifier').unique().on('resource_servers').columns(['tenant_id', 'identifier']).execute();
      await docTable(db, 'client_grants')
        .addColumn('client_id', 'text', (c) => c.notNull()).addColumn('audience', 'text', (c) => c.notNull()).execute();
      await db.schema.createIndex('client_grants_pair').unique().on('client_grants').columns(['tenant_id', 'client_id', 'audience']).execute();
      await db.schema.createIndex('client_grants_audience').on('client_grants').columns(['tenant_id', 'audience']).execute();
      await docTable(db, 'connections')
        .addColumn('name', 'text', (c) => c.notNull()).addColumn('strategy', 'text', (c) => c.notNull()).execute();
      await db.schema.createIndex('connections_name').unique().on('connections').columns(['tenant_id', 'name']).execute();
      await docTable(db, 'roles').addColumn('name', 'text', (c) => c.notNull()).execute();
      await db.schema.createIndex('roles_name').unique().on('roles').columns(['tenant_id', 'name']).execute();
      await docTable(db, 'organizations').addColumn('name', 'text', (c) => c.notNull()).execute();
      await db.schema.createIndex('organizations_name').unique().on('organizations').columns(['tenant_id', 'name']).execute();
      await docTable(db, 'invitations').addColumn('org_id', 'text', (c) => c.notNull()).execute();
      await db.schema.createIndex('invitations_org').on('invitations').columns(['tenant_id', 'org_id']).execute();

      await db.schema.createTable('users')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('connection', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('email_norm', 'text')
        .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('username', 'text')
        .addColumn('phone_number', 'text')
        .addColumn('name', 'text')
        .addColumn('nickname', 'text')
        .addColumn('given_name', 'text')
        .addColumn('family_name', 'text')
        .addColumn('picture', 'text')
        .addColumn('blocked', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('last_login', 'text')
        .addColumn('last_ip', 'text')
        .addColumn('logins_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('app_metadata', 'text', (c) => c.notNull())
        .addColumn('user_metadata', 'text', (c) => c.notNull())
        .addColumn('identities', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addPrimaryKeyConstraint('users_pk', ['tenant_id', 'user_id'])
        .execute();
      await db.schema.createIndex('users_conn_email').unique().on('users').columns(['tenant_id', 'connection', 'email_norm']).execute();
      await db.schema.createIndex('users_email').on('users').columns(['tenant_id', 'email_norm']).execute();
      await db.schema.createIndex('users_created').on('users').columns(['tenant_id', 'created_at']).execute();
      await db.schema.createIndex('users_username').on('users').columns(['tenant_id', 'username']).execute();

      await db.schema.createTable('role_permissions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('resource_server_identifier', 'text', (c) => c.notNull())
        .addColumn('permission_name', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('role_permissions_pk', ['tenant_id', 'role_id', 'resource_server_identifier', 'permission_name'])
        .execute();
      await db.schema.createTable('user_roles')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_roles_pk', ['tenant_id', 'user_id', 'role_id'])
        .execute();
      await db.schema.createIndex('user_roles_role').on('user_roles').columns(['tenant_id', 'role_id', 'user_id']).execute();
      await db.schema.createTable('user_permissions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('resource_server_identifier', 'text', (c) => c.notNull())
        .addColumn('permission_name', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_permissions_pk', ['tenant_id', 'user_id', 'resource_server_identifier', 'permission_name'])
        .execute();
      await db.schema.createTable('organization_members')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('organization_members_pk', ['tenant_id', 'org_id', 'user_id'])
        .execute();
      await db.schema.createIndex('organization_members_user').on('organization_members').columns(['tenant_id', 'user_id']).execute();
      await db.schema.createTable('organization_member_roles')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('organization_member_roles_pk', ['tenant_id', 'org_id', 'user_id', 'role_id'])
        .execute();
      await db.schema.createTable('organization_connections')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('connection_id', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('organization_connections_pk', ['tenant_id', 'org_id', 'connection_id'])
        .execute();

      await db.schema.createTable('oidc_payloads')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('uid', 'text')
        .addColumn('user_code', 'text')
        .addColumn('account_id', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .addPrimaryKeyConstraint('oidc_payloads_pk', ['tenant_id', 'model', 'id'])
        .execute();
      await db.schema.createIndex('oidc_payloads_grant').on('oidc_payloads').columns(['tenant_id', 'grant_id']).execute();
      await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').columns(['tenant_id', 'uid']).execute();
      await db.schema.createIndex('oidc_payloads_account').on('oidc_payloads').columns(['tenant_id', 'model', 'account_id']).execute();
      void sql;
    },
  },
  // Per-tenant singleton documents that must not appear in /tenants/settings
  // (the email provider with its sealed credentials, and the like).
  '0002_tenant_documents': {
    async up(db) {
      await db.schema.createTable('tenant_documents')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tenant_documents_pk', ['tenant_id', 'name'])
        .execute();
    },
  },
  // Exact email search sorts by created_at; with only (tenant_id, email_norm)
  // SQLite preferred walking the created_at index to skip the sort, scanning
  // every user. This index serves the lookup and the order together.
  '0003_users_email_created': {
    async up(db) {
      await db.schema.createIndex('users_email_created').on('users').columns(['tenant_id', 'email_norm', 'created_at', 'user_id']).execute();
      await db.schema.dropIndex('users_email').execute(); // a prefix of the new one
    },
  },
  // email:prefix* searches compare email_norm as a range in code point order
  // (COLLATE "C"); PostgreSQL indexes under the database's collation unless told.
  // SQLite's BINARY order already is code point order, so it needs nothing.
  '0004_users_email_prefix_pg': {
    async up(db) {
      if (!(db.introspection instanceof PostgresIntrospector)) return;
      await sql`create index users_email_c on users (tenant_id, email_norm collate "C")`.execute(db);
    },
  },
  // At most one current and one next signing key per tenant, so nodes that
  // rotate (or bootstrap) at the same moment cannot leave two of either. Rows
  // from such a race before this index are repaired first: the oldest keeps the
  // status, the others become previous (still published, so tokens verify).
  '0005_signing_keys_one_current_one_next': {
    async up(db) {
      for (const status of ['current', 'next']) {
        const rows = await db.selectFrom('signing_keys').select(['tenant_id', 'kid']).where('status', '=', status).orderBy('created_at').execute();
        const seen = new Set<string>();
        for (const r of rows) {
          if (!seen.has(r.tenant_id)) { seen.add(r.tenant_id); continue; }
          await db.updateTable('signing_keys').set({ status: 'previous' }).where('tenant_id', '=', r.tenant_id).where('kid', '=', r.kid).execute();
        }
      }
      await db.schema.createIndex('signing_keys_one_active').unique().on('signing_keys').columns(['tenant_id', 'status'])
        .where(sql.ref('status'), 'in', ['current', 'next']).execute();
    },
  },
  // Tenant logs (one row an event; `log_id` sorts by time, so it is the
  // checkpoint and the default order) and the extensibility documents the
  // security-posture scanners read: rules, hooks and custom domains.
  '0006_logs_rules_hooks_custom_domains': {
    async up(db) {
      await db.schema.createTable('logs')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('log_id', 'text', (c) => c.notNull())
        .addColumn('date', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('client_id', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('logs_pk', ['tenant_id', 'log_id'])
        .execute();
      await db.schema.createIndex('logs_user').on('logs').columns(['tenant_id', 'user_id', 'log_id']).execute();
      await db.schema.createIndex('logs_date').on('logs').columns(['tenant_id', 'date']).execute();
      for (const table of ['rules', 'hooks', 'custom_domains']) {
        let t = docTable(db, table).addColumn('name', 'text', (c) => c.notNull());
        // Rules run in order, so no two share one; at most one hook per trigger is
        // enabled (the trigger's id while enabled, NULL otherwise, and NULLs never collide).
        if (table === 'rules') t = t.addColumn('ord', 'integer', (c) => c.notNull());
        if (table === 'hooks') t = t.addColumn('enabled_trigger', 'text');
        await t.execute();
        await db.schema.createIndex(`${table}_name`).unique().on(table).columns(['tenant_id', 'name']).execute();
      }
      await db.schema.createIndex('rules_ord').unique().on('rules').columns(['tenant_id', 'ord']).execute();
      await db.schema.createIndex('hooks_enabled_trigger').unique().on('hooks').columns(['tenant_id', 'enabled_trigger']).execute();
    },
  },
  // Brute-force protection: consecutive failed logins per account (and per IP,
  // in Auth0's default mode), and the block that max_attempts sets on them.
  '0007_login_failures': {
    async up(db) {
      await db.schema.createTable('login_failures')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('blocked_at', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('login_failures_pk', ['tenant_id', 'user_id', 'ip'])
        .execute();
    },
  },
  // Actions (their versions and trigger bindings inside the document), forms,
  // flows, self-service profiles and phone providers. Action names are unique, as
  // Auth0 keeps them; a phone provider's `name` column holds its channel, so a
  // tenant has one; the others are only looked up by name.
  '0008_actions_forms_flows_profiles_phone': {
    async up(db) {
      for (const [table, unique] of [['actions', true], ['forms', false], ['flows', false], ['self_service_profiles', false], ['phone_providers', true]] as const) {
        await docTable(db, table).addColumn('name', 'text', (c) => c.notNull()).execute();
        let index = db.schema.createIndex(`${table}_name`).on(table).columns(['tenant_id', 'name']);
        if (unique) index = index.unique();
        await index.execute();
      }
    },
  },
  // Suspicious-IP throttling: a leaky bucket of failed attempts per address and
  // stage (`attempts` drains by one every `rate` ms), and the block it sets.
  '0009_ip_throttle': {
    async up(db) {
      await db.schema.createTable('ip_throttle')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('attempts', 'double precision', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .addColumn('blocked_at', 'text')
        .addPrimaryKeyConstraint('ip_throttle_pk', ['tenant_id', 'ip', 'stage'])
        .execute();
    },
  },
  // Enterprise federation: a connection's inbound SCIM configuration (its id is
  // the connection's), the SCIM bearer tokens (only their hash is kept, looked up
  // on every SCIM request), and the keys a connection signs client assertions
  // toward its IdP with. `name` holds the connection id in the last two.
  '0010_scim_connection_keys': {
    async up(db) {
      await docTable(db, 'scim_configurations').execute();
      await docTable(db, 'scim_tokens')
        .addColumn('name', 'text', (c) => c.notNull()).addColumn('token_hash', 'text', (c) => c.notNull()).execute();
      await db.schema.createIndex('scim_tokens_connection').on('scim_tokens').columns(['tenant_id', 'name']).execute();
      await db.schema.createIndex('scim_tokens_hash').unique().on('scim_tokens').columns(['tenant_id', 'token_hash']).execute();
      await docTable(db, 'connection_keys').addColumn('name', 'text', (c) => c.notNull()).execute();
      await db.schema.createIndex('connection_keys_connection').on('connection_keys').columns(['tenant_id', 'name']).execute();
    },
  },
  // Account linking: a secondary identity keeps its row (its connection still
  // holds it, with its credentials) and names its primary user here.
  '0011_user_links': {
    async up(db) {
      await db.schema.alterTable('users').addColumn('linked_to', 'text').execute();
      await db.schema.createIndex('users_linked_to').on('users').columns(['tenant_id', 'linked_to']).execute();
    },
  },
  // Groups an enterprise connection's IdP provisions over SCIM: a name unique in
  // the connection, their members (users of that connection) and the roles
  // assigned to them, which their members then hold.
  '0012_groups': {
    async up(db) {
      await docTable(db, 'groups')
        .addColumn('connection', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text').execute();
      await db.schema.createIndex('groups_connection_name').unique().on('groups').columns(['tenant_id', 'connection', 'name']).execute();
      for (const [table, column] of [['group_members', 'user_id'], ['group_roles', 'role_id']] as const) {
        await db.schema.createTable(table)
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn(column, 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['tenant_id', 'group_id', column])
          .execute();
        await db.schema.createIndex(`${table}_${column}`).on(table).columns(['tenant_id', column, 'group_id']).execute();
      }
    },
  },
  // Roles given to a group within one organization: its members hold them there
  // only. Indexed from the group and the role too, whose deletes take the links.
  '0013_organization_group_roles': {
    async up(db) {
      await db.schema.createTable('organization_group_roles')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('organization_group_roles_pk', ['tenant_id', 'org_id', 'group_id', 'role_id'])
        .execute();
      for (const column of ['group_id', 'role_id']) {
        await db.schema.createIndex(`organization_group_roles_${column}`).on('organization_group_roles').columns(['tenant_id', column]).execute();
      }
    },
  },
  // The user events that GET /api/v2/events serves (tenant/user-events.ts), in
  // position order; a position begins with the event's time, so the retention
  // prune and a replay from a timestamp are range reads of the key.
  '0014_events': {
    async up(db) {
      await db.schema.createTable('events')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('position', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['tenant_id', 'position'])
        .execute();
    },
  },
  // What each run of a trigger's actions did (GET /actions/executions/{id}),
  // kept ten days as Auth0 keeps them; the prune reads by creation time.
  '0015_action_executions': {
    async up(db) {
      await docTable(db, 'action_executions').execute();
      await db.schema.createIndex('action_executions_created').on('action_executions').columns(['tenant_id', 'created_at']).execute();
    },
  },
  // The device flow finds a device code by the user code a person types in.
  '0016_device_user_codes': {
    async up(db) {
      await db.schema.createIndex('oidc_payloads_user_code').on('oidc_payloads').columns(['tenant_id', 'model', 'user_code']).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Migrates to the latest schema, or only up to the named migration (the storage tests use that). */
export async function migrate(db: Kysely<any>, upTo?: string): Promise<void> {
  // Kysely finds its bookkeeping tables by introspecting every schema; name the
  // current one, or a sibling schema's tables (other tenants, parallel test
  // servers) make it skip creating its own.
  const schema = await sql<{ s: string }>`select current_schema() as s`.execute(db).then((r) => r.rows[0]?.s, () => undefined);
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const run = () => (upTo ? migrator.migrateTo(upTo) : migrator.migrateToLatest());
  let { error, results } = await run();
  // Kysely's table check reads the catalog of every schema; a sibling schema
  // or one of its tables dropped at that moment (3F000 or 42P01, naming
  // another schema) is a race, not a failure: retry.
  for (let i = 0; i < 5 && isSiblingSchemaRace(error, schema); i++) {
    await new Promise((r) => setTimeout(r, 50 * (i + 1)));
    ({ error, results } = await run());
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`, { cause: error });
  }
}

function isSiblingSchemaRace(error: unknown, own: string | undefined): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  return (e?.code === '3F000' || e?.code === '42P01') && !!own && !String(e.message).includes(`"${own}`);
}
