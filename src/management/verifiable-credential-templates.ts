import { X509Certificate } from 'node:crypto';
import { badRequest, conflict, notFound } from '../lib/errors.ts';
import { collectionId, collectionRoutes, type CollectionResource } from './tenant-collection.ts';

// Verification templates for verifiable credentials (mobile driver's licences):
// what a verification asks the wallet to present. Stored and answered as
// Auth0 does; Postern verifies no credential, so nothing uses them.

interface Template {
  id: string; name: string; type: string; dialect: string; presentation: Record<string, unknown>;
  custom_certificate_authority: string | null; well_known_trusted_issuers: string; created_at: string; updated_at: string;
}

const FIELDS = ['name', 'type', 'dialect', 'presentation', 'well_known_trusted_issuers'] as const;

function uniqueName(name: string, others: Template[]) {
  if (others.some((o) => o.name === name)) throw conflict('A verification template with the same name already exists.', 'template_conflict');
  return name;
}

/** A custom certificate authority is a PEM certificate. */
function certificate(pem: string | null | undefined) {
  if (pem === undefined || pem === null) return null;
  try { new X509Certificate(pem); } catch {
    throw badRequest("Payload validation error: 'The custom certificate authority is not a PEM certificate' on property custom_certificate_authority.");
  }
  return pem;
}

const templates: CollectionResource<Template> = {
  doc: 'vc-verification-templates',
  missing: () => notFound('The verification template does not exist.', 'inexistent_template'),
  path: '/verifiable-credentials/verification/templates',
  list: { kind: 'checkpoint', key: 'templates' },
  show: (t) => t,
  create({ body }, others) {
    const now = new Date().toISOString();
    return {
      id: collectionId('vct_', 22), name: uniqueName(body.name, others), type: body.type, dialect: body.dialect, presentation: body.presentation,
      custom_certificate_authority: certificate(body.custom_certificate_authority), well_known_trusted_issuers: body.well_known_trusted_issuers,
      created_at: now, updated_at: now,
    };
  },
  // The schema allows null for each field; a null leaves the stored value, since every one of them is required.
  update({ body }, cur, others) {
    const next: Template = { ...cur, updated_at: new Date().toISOString() };
    for (const k of FIELDS) if (body[k] !== undefined && body[k] !== null) (next as any)[k] = body[k];
    if (body.name) uniqueName(body.name, others);
    return next;
  },
};

export const verifiableCredentialTemplateRoutes = collectionRoutes(templates);
