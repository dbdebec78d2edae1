import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.ts';
import { managementClient } from './helpers/sdk.ts';

let s: TestServer;
before(async () => { s = await startServer(); });
after(async () => { await s?.close(); });

test('the official ManagementClient manages the tenant with only the domain changed', async () => {
  const mc = managementClient(s);
  const created: any = await mc.users.create({ connection: 'Username-Password-Authentication', email: 'smoke@example.com', password: 'Sm0ke-Test-pw' });
  const user = created.data ?? created;
  assert.match(user.user_id, /^auth0\|/);
  const got: any = await mc.users.get(user.user_id);
  assert.equal((got.data ?? got).email, 'smoke@example.com');
});
