import type { Route } from './router.ts';
import { clientRoutes } from './clients.ts';
import { clientCredentialRoutes } from './client-credentials.ts';
import { clientCimdRoutes } from './client-cimd.ts';
import { resourceServerRoutes } from './resource-servers.ts';
import { clientGrantRoutes } from './client-grants.ts';
import { connectionRoutes } from './connections.ts';
import { scimConfigurationRoutes } from './scim-configuration.ts';
import { directoryProvisioningRoutes } from './directory-provisioning.ts';
import { connectionKeyRoutes } from './connection-keys.ts';
import { userRoutes } from './users.ts';
import { userIdentityRoutes } from './user-identities.ts';
import { tenantRoutes } from './tenant-settings.ts';
import { keyRoutes } from './keys.ts';
import { emailRoutes } from './emails.ts';
import { ticketRoutes } from './tickets.ts';
import { jobRoutes } from './jobs.ts';
import { userImportRoutes } from './user-imports.ts';
import { userExportRoutes } from './user-exports.ts';
import { sessionRoutes } from './sessions.ts';
import { grantRoutes } from './grants.ts';
import { connectionUserRoutes } from './connection-users.ts';
import { refreshTokenRoutes } from './refresh-tokens.ts';
import { roleRoutes } from './roles.ts';
import { rolePermissionRoutes } from './role-permissions.ts';
import { roleUserRoutes } from './role-users.ts';
import { userRoleRoutes } from './user-roles.ts';
import { groupRoutes } from './groups.ts';
import { groupRoleRoutes } from './group-roles.ts';
import { userGroupRoutes } from './user-groups.ts';
import { userPermissionRoutes } from './user-permissions.ts';
import { organizationRoutes } from './organizations.ts';
import { organizationMemberRoutes } from './organization-members.ts';
import { organizationMemberRoleRoutes } from './organization-member-roles.ts';
import { organizationConnectionRoutes } from './organization-connections.ts';
import { organizationConnectionEaRoutes } from './organization-connections-ea.ts';
import { organizationTemplateRoutes } from './organization-templates.ts';
import { organizationRoleMemberRoutes } from './organization-role-members.ts';
import { organizationGroupRoutes } from './organization-groups.ts';
import { invitationRoutes } from './invitations.ts';
import { userOrganizationRoutes } from './user-organizations.ts';
import { logRoutes } from './logs.ts';
import { statsRoutes } from './stats.ts';
import { userBlockRoutes } from './user-blocks.ts';
import { clientConnectionRoutes } from './client-connections.ts';
import { attackProtectionRoutes } from './attack-protection.ts';
import { guardianRoutes } from './guardian.ts';
import { guardianProviderRoutes } from './guardian-providers.ts';
import { userMultifactorRoutes } from './user-multifactor.ts';
import { promptRoutes } from './prompts.ts';
import { brandingRoutes } from './branding.ts';
import { brandingThemeRoutes } from './branding-themes.ts';
import { promptRenderingRoutes } from './prompt-rendering.ts';
import { connectionStatusRoutes } from './connection-status.ts';
import { connectedAccountRoutes } from './connected-accounts.ts';
import { ruleRoutes } from './rules.ts';
import { rulesConfigRoutes } from './rules-configs.ts';
import { hookRoutes } from './hooks.ts';
import { hookSecretRoutes } from './hook-secrets.ts';
import { customDomainRoutes } from './custom-domains.ts';
import { selfServiceProfileRoutes } from './self-service-profiles.ts';
import { selfServiceSsoTicketRoutes } from './self-service-sso-tickets.ts';
import { deviceCredentialRoutes } from './device-credentials.ts';
import { formRoutes } from './forms.ts';
import { flowRoutes } from './flows.ts';
import { flowsVaultConnectionRoutes } from './flows-vault-connections.ts';
import { eventRoutes } from './events.ts';
import { phoneProviderRoutes } from './phone-providers.ts';
import { phoneTemplateRoutes } from './phone-templates.ts';
import { authenticationMethodRoutes } from './authentication-methods.ts';
import { enrollmentRoutes } from './enrollments.ts';
import { anomalyBlockRoutes } from './anomaly-blocks.ts';
import { actionRoutes } from './actions.ts';
import { actionVersionRoutes } from './action-versions.ts';
import { actionModuleRoutes } from './action-modules.ts';
import { actionModuleVersionRoutes } from './action-module-versions.ts';
import { actionTriggerRoutes } from './action-triggers.ts';
import { emailTemplateRoutes } from './email-templates.ts';
import { organizationClientGrantRoutes } from './organization-client-grants.ts';
import { organizationDiscoveryDomainRoutes } from './organization-discovery-domains.ts';
import { effectiveRoleRoutes } from './effective-roles.ts';
import { effectivePermissionRoutes } from './effective-permissions.ts';
import { logStreamRoutes } from './log-streams.ts';
import { eventStreamRoutes } from './event-stream-deliveries.ts';
import { networkAclRoutes } from './network-acls.ts';
import { rateLimitPolicyRoutes } from './rate-limit-policies.ts';
import { tokenExchangeProfileRoutes } from './token-exchange-profiles.ts';
import { userAttributeProfileRoutes } from './user-attribute-profiles.ts';
import { verifiableCredentialTemplateRoutes } from './verifiable-credential-templates.ts';
import { supplementalSignalRoutes } from './supplemental-signals.ts';
import { riskAssessmentRoutes } from './risk-assessments.ts';
import { phoneProviderProtectionRoutes } from './phone-provider-protection.ts';
import { customSigningKeyRoutes } from './custom-signing-keys.ts';
import { encryptionKeyRoutes } from './encryption-keys.ts';
import { networkAclKeyRoutes } from './network-acl-keys.ts';
import { federatedTokenSetRoutes } from './federated-token-sets.ts';
import { agentRoutes } from './agents.ts';
import { organizationClientRoutes } from './organization-clients.ts';
/** Every implemented Management API route; one line per resource file. */
export const managementRoutes: Route[] = [
  ...clientRoutes,
  ...clientCredentialRoutes,
  ...clientCimdRoutes,
  ...resourceServerRoutes,
  ...clientGrantRoutes,
  ...connectionRoutes,
  ...scimConfigurationRoutes,
  ...directoryProvisioningRoutes,
  ...connectionKeyRoutes,
  ...userRoutes,
  ...userIdentityRoutes,
  ...tenantRoutes,
  ...keyRoutes,
  ...emailRoutes,
  ...ticketRoutes,
  ...jobRoutes,
  ...userImportRoutes,
  ...userExportRoutes,
  ...sessionRoutes,
  ...grantRoutes,
  ...connectionUserRoutes,
  ...refreshTokenRoutes,
  ...roleRoutes,
  ...rolePermissionRoutes,
  ...roleUserRoutes,
  ...userRoleRoutes,
  ...groupRoutes,
  ...groupRoleRoutes,
  ...userGroupRoutes,
  ...userPermissionRoutes,
  ...organizationRoutes,
  ...organizationMemberRoutes,
  ...organizationMemberRoleRoutes,
  ...organizationConnectionRoutes,
  ...organizationConnectionEaRoutes,
  ...organizationTemplateRoutes,
  ...organizationRoleMemberRoutes,
  ...organizationGroupRoutes,
  ...invitationRoutes,
  ...userOrganizationRoutes,
  ...logRoutes,
  ...statsRoutes,
  ...userBlockRoutes,
  ...clientConnectionRoutes,
  ...attackProtectionRoutes,
  ...guardianRoutes,
  ...guardianProviderRoutes,
  ...userMultifactorRoutes,
  ...promptRoutes,
  ...brandingRoutes,
  ...brandingThemeRoutes,
  ...promptRenderingRoutes,
  ...connectionStatusRoutes,
  ...connectedAccountRoutes,
  ...ruleRoutes,
  ...rulesConfigRoutes,
  ...hookRoutes,
  ...hookSecretRoutes,
  ...customDomainRoutes,
  ...selfServiceProfileRoutes,
  ...selfServiceSsoTicketRoutes,
  ...deviceCredentialRoutes,
  ...formRoutes,
  ...flowRoutes,
  ...flowsVaultConnectionRoutes,
  ...eventRoutes,
  ...phoneProviderRoutes,
  ...phoneTemplateRoutes,
  ...authenticationMethodRoutes,
  ...enrollmentRoutes,
  ...anomalyBlockRoutes,
  ...actionRoutes,
  ...actionVersionRoutes,
  ...actionModuleRoutes,
  ...actionModuleVersionRoutes,
  ...actionTriggerRoutes,
  ...emailTemplateRoutes,
  ...organizationClientGrantRoutes,
  ...organizationDiscoveryDomainRoutes,
  ...effectiveRoleRoutes,
  ...effectivePermissionRoutes,
  ...logStreamRoutes,
  ...eventStreamRoutes,
  ...networkAclRoutes,
  ...rateLimitPolicyRoutes,
  ...tokenExchangeProfileRoutes,
  ...userAttributeProfileRoutes,
  ...verifiableCredentialTemplateRoutes,
  ...supplementalSignalRoutes,
  ...riskAssessmentRoutes,
  ...phoneProviderProtectionRoutes,
  ...customSigningKeyRoutes,
  ...encryptionKeyRoutes,
  ...networkAclKeyRoutes,
  ...federatedTokenSetRoutes,
  ...agentRoutes,
  ...organizationClientRoutes,
];
