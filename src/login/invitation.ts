import type { Env } from '../tenant/env.ts';
import { findInvitationByTicket } from '../tenant/organizations-login.ts';

// An invitation link's authorization carries `invitation` and `organization`:
// the invitee signs up (or logs in) with the address the invitation went to.

/** The invited email of this interaction's invitation, if it has a usable one. */
export async function invitedEmail(env: Env, interaction: { params: Record<string, any> }): Promise<string | undefined> {
  const { invitation, organization } = interaction.params;
  if (typeof invitation !== 'string' || !invitation || typeof organization !== 'string' || !organization) return undefined;
  const inv = await findInvitationByTicket(env, organization, invitation);
  return typeof inv?.invitee?.email === 'string' ? inv.invitee.email : undefined;
}
