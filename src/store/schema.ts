// Row types for the one schema both backends share. JSON documents are stored
// as text so SQLite and PostgreSQL read and write the same values.
export interface TenantRow { id: string; name: string; settings: string; created_at: string }
export interface SigningKeyRow {
  tenant_id: string; kid: string; status: 'next' | 'current' | 'previous' | 'revoked';
  private_jwk: string; cert: string; created_at: string;
  current_since: string | null; current_until: string | null; revoked_at: string | null;
}
/** Resources kept as a JSON document plus the columns they are looked up by. */
export interface DocRow { tenant_id: string; id: string; data: string; created_at: string; updated_at: string }
export interface ClientRow extends DocRow { name: string; secret: string | null }
export interface ResourceServerRow extends DocRow { identifier: string }
export interface ClientGrantRow extends DocRow { client_id: string; audience: string }
export interface ConnectionRow extends DocRow { name: string; strategy: string }
export interface RoleRow extends DocRow { name: string }
export interface OrganizationRow extends DocRow { name: string }
export interface UserRow {
  tenant_id: string; user_id: string; connection: string; provider: string;
  email: string | null; email_norm: string | null; email_verified: number;
  username: string | null; phone_number: string | null;
  name: string | null; nickname: string | null; given_name: string | null; family_name: string | null;
  picture: string | null; blocked: number;
  created_at: string; updated_at: string; last_login: string | null; last_ip: string | null; logins_count: number;
  app_metadata: string; user_metadata: string; identities: string; data: string;
  password_hash: string | null;
  /** The primary user's id when this row is an identity linked into another user. */
  linked_to?: string | null;
}
export interface RolePermissionRow { tenant_id: string; role_id: string; resource_server_identifier: string; permission_name: string }
export interface UserRoleRow { tenant_id: string; user_id: string; role_id: string; created_at: string }
export interface UserPermissionRow { tenant_id: string; user_id: string; resource_server_identifier: string; permission_name: string }
export interface OrgMemberRow { tenant_id: string; org_id: string; user_id: string; created_at: string }
export interface OrgMemberRoleRow { tenant_id: string; org_id: string; user_id: string; role_id: string }
export interface OrgConnectionRow { tenant_id: string; org_id: string; connection_id: string; data: string }
export interface InvitationRow extends DocRow { org_id: string }
/** A group of an enterprise connection (`connection` holds the connection's id). */
export interface GroupRow extends DocRow { connection: string; name: string; external_id: string | null }
export interface GroupMemberRow { tenant_id: string; group_id: string; user_id: string; created_at: string }
export interface GroupRoleRow { tenant_id: string; group_id: string; role_id: string; created_at: string }
export interface OrgGroupRoleRow { tenant_id: string; org_id: string; group_id: string; role_id: string; created_at: string }
export interface OidcPayloadRow {
  tenant_id: string; model: string; id: string; payload: string;
  grant_id: string | null; uid: string | null; user_code: string | null; account_id: string | null;
  expires_at: number | null; consumed_at: number | null;
}

/** One tenant log event; the whole event as Auth0 shows it is in `data`. */
export interface LogRow { tenant_id: string; log_id: string; date: string; type: string; user_id: string | null; client_id: string | null; data: string }
export interface EventRow { tenant_id: string; position: string; type: string; data: string }
/** Rules, hooks and custom domains: a document kept unique by `name` (a custom domain's is the domain). */
export interface NamedDocRow extends DocRow { name: string }

/** Consecutive failed logins of one account (from one IP, or '' when counted across IPs), and its block. */
export interface LoginFailureRow { tenant_id: string; user_id: string; ip: string; failures: number; blocked_at: string | null; updated_at: string }

/** Suspicious-IP throttling's bucket of failed attempts for one address and stage, and its block. */
export interface IpThrottleRow { tenant_id: string; ip: string; stage: string; attempts: number; updated_ms: number; blocked_at: string | null }

/** A named per-tenant singleton document (e.g. `email_provider`). */
export interface TenantDocumentRow { tenant_id: string; name: string; data: string; created_at: string; updated_at: string }

export interface Database {
  tenants: TenantRow;
  signing_keys: SigningKeyRow;
  clients: ClientRow;
  resource_servers: ResourceServerRow;
  client_grants: ClientGrantRow;
  connections: ConnectionRow;
  users: UserRow;
  roles: RoleRow;
  role_permissions: RolePermissionRow;
  user_roles: UserRoleRow;
  user_permissions: UserPermissionRow;
  organizations: OrganizationRow;
  organization_members: OrgMemberRow;
  organization_member_roles: OrgMemberRoleRow;
  organization_connections: OrgConnectionRow;
  invitations: InvitationRow;
  oidc_payloads: OidcPayloadRow;
  tenant_documents: TenantDocumentRow;
  logs: LogRow;
  events: EventRow;
  action_executions: DocRow;
  login_failures: LoginFailureRow;
  ip_throttle: IpThrottleRow;
  rules: NamedDocRow & { ord: number };
  hooks: NamedDocRow & { enabled_trigger: string | null };
  custom_domains: NamedDocRow;
  actions: NamedDocRow;
  forms: NamedDocRow;
  flows: NamedDocRow;
  self_service_profiles: NamedDocRow;
  phone_providers: NamedDocRow;
  scim_configurations: DocRow;
  scim_tokens: NamedDocRow & { token_hash: string };
  connection_keys: NamedDocRow;
  groups: GroupRow;
  group_members: GroupMemberRow;
  group_roles: GroupRoleRow;
  organization_group_roles: OrgGroupRoleRow;
}
