#!/usr/bin/env node
// Refreshes data/auth0/ from Auth0's published Management API structure
// (../shared/auth0 in the development checkout). The server reads only the
// vendored copy, so a fresh clone starts without the shared folder. Kept:
// operation parameters and request bodies, component schemas and parameters,
// and the scope catalogue; responses are not needed at run time.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const from = resolve(process.argv[2] ?? join(root, '../shared/auth0'));
const to = join(root, 'data/auth0');
mkdirSync(to, { recursive: true });

const spec = JSON.parse(readFileSync(join(from, 'management-api.json'), 'utf8'));
const paths = {};
for (const [p, ops] of Object.entries(spec.paths)) {
  paths[p] = {};
  for (const [method, op] of Object.entries(ops)) {
    if (typeof op !== 'object' || !op) continue;
    paths[p][method] = { ...(op.parameters ? { parameters: op.parameters } : {}), ...(op.requestBody ? { requestBody: op.requestBody } : {}) };
  }
}
const trimmed = {
  openapi: spec.openapi,
  info: { title: spec.info?.title, version: spec.info?.version, note: 'Structure of Auth0 Management API v2, trimmed by scripts/vendor-auth0-spec.mjs' },
  paths,
  components: { schemas: spec.components.schemas, parameters: spec.components.parameters ?? {}, securitySchemes: spec.components.securitySchemes },
};
writeFileSync(join(to, 'management-api.json'), JSON.stringify(trimmed));
writeFileSync(join(to, 'management-ops.tsv'), readFileSync(join(from, 'management-ops.tsv')));
console.log(`vendored ${Object.keys(paths).length} paths into ${to}`);
