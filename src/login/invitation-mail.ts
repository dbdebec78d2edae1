import type { Env } from '../tenant/env.ts';
import { tenantSettings } from '../management/tenant-settings.ts';
import { esc } from './html.ts';
import { sendMailInBackground, type Mail } from './mail.ts';

// The email of an organization invitation: who invites, to which
// organization and application, and the invitation_url, which opens the
// application's login route and from there Universal Login.

export interface InvitationForMail { invitee: { email: string }; inviter?: { name?: string }; invitation_url: string; expires_at: string }

export async function invitationMail(env: Env, org: { name: string; display_name?: string }, appName: string, inv: InvitationForMail): Promise<Mail> {
  const brand = (await tenantSettings(env)).friendly_name;
  const orgName = org.display_name || org.name;
  const who = inv.inviter?.name || 'Someone';
  const intro = `${who} has invited you to join ${orgName} on ${appName}.`;
  const until = `This invitation expires on ${new Date(inv.expires_at).toUTCString()}.`;
  return {
    to: inv.invitee.email, subject: `You've been invited to join ${orgName}`, link: inv.invitation_url,
    text: `${intro}\n\nAccept the invitation: ${inv.invitation_url}\n\n${until}\n\n${brand}\n`,
    html: `<!doctype html><html><body><p>${esc(intro)}</p><p><a href="${esc(inv.invitation_url)}">Accept the invitation</a></p><p>${esc(until)}</p><p>${esc(brand)}</p></body></html>`,
  };
}

/** Sent after the invitation is stored; the API answers whether or not delivery works. */
export async function sendInvitationMail(env: Env, org: { name: string; display_name?: string }, appName: string, inv: InvitationForMail) {
  sendMailInBackground(env, await invitationMail(env, org, appName, inv), 'organization invitation');
}
