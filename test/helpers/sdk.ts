import { ManagementClient } from 'auth0';
import type { TestServer } from './server.ts';

/** The official v7 SDK pointed at a test server, with only the domain changed. */
export function managementClient(s: TestServer): ManagementClient {
  return new ManagementClient({ domain: s.domain, clientId: s.clientId, clientSecret: s.clientSecret });
}

/** Every item of an SDK list, across its pages. */
export async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of pages) out.push(x);
  return out;
}
