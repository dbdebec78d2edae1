import type { Route } from './router.ts';
import { clientRoutes } from './clients.ts';
import { resourceServerRoutes } from './resource-servers.ts';
import { clientGrantRoutes } from './client-grants.ts';
import { connectionRoutes } from './connections.ts';
import { userRoutes } from './users.ts';
import { tenantRoutes } from './tenant-settings.ts';
import { keyRoutes } from './keys.ts';

/** Every implemented Management API route; one line per resource file. */
export const managementRoutes: Route[] = [
  ...clientRoutes,
  ...resourceServerRoutes,
  ...clientGrantRoutes,
  ...connectionRoutes,
  ...userRoutes,
  ...tenantRoutes,
  ...keyRoutes,
];
