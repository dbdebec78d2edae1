import type { Route } from './router.ts';
import { clientRoutes } from './clients.ts';
import { resourceServerRoutes } from './resource-servers.ts';
import { clientGrantRoutes } from './client-grants.ts';
import { connectionRoutes } from './connections.ts';
import { userRoutes } from './users.ts';
import { tenantRoutes } from './tenant-settings.ts';
import { keyRoutes } from './keys.ts';
import { emailRoutes } from './emails.ts';
import { ticketRoutes } from './tickets.ts';
import { jobRoutes } from './jobs.ts';
import { sessionRoutes } from './sessions.ts';
import { refreshTokenRoutes } from './refresh-tokens.ts';
import { roleRoutes } from './roles.ts';
import { rolePermissionRoutes } from './role-permissions.ts';
import { roleUserRoutes } from './role-users.ts';
import { userRoleRoutes } from './user-roles.ts';
import { userPermissionRoutes } from './user-permissions.ts';
import { organizationRoutes } from './organizations.ts';
import { organizationMemberRoutes } from './organization-members.ts';
import { organizationMemberRoleRoutes } from './organization-member-roles.ts';
import { organizationConnectionRoutes } from './organization-connections.ts';
import { invitationRoutes } from './invitations.ts';
import { userOrganizationRoutes } from './user-organizations.ts';

/** Every implemented Management API route; one line per resource file. */
export const managementRoutes: Route[] = [
  ...clientRoutes,
  ...resourceServerRoutes,
  ...clientGrantRoutes,
  ...connectionRoutes,
  ...userRoutes,
  ...tenantRoutes,
  ...keyRoutes,
  ...emailRoutes,
  ...ticketRoutes,
  ...jobRoutes,
  ...sessionRoutes,
  ...refreshTokenRoutes,
  ...roleRoutes,
  ...rolePermissionRoutes,
  ...roleUserRoutes,
  ...userRoleRoutes,
  ...userPermissionRoutes,
  ...organizationRoutes,
  ...organizationMemberRoutes,
  ...organizationMemberRoleRoutes,
  ...organizationConnectionRoutes,
  ...invitationRoutes,
  ...userOrganizationRoutes,
];
