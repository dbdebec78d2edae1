import { createServer } from 'node:https';
import { dirname } from 'node:path';
import { ensureTls } from '../../src/tenant/tls.ts';

// An application's back-channel endpoint: an HTTPS server (the test run's CA)
// that keeps every form (or other body) it is posted, with its headers. It can
// also serve documents (a CIMD, a JWKS) by path; `hang` never answers.

export interface Served { body?: string; status?: number; type?: string; headers?: Record<string, string>; hang?: boolean }

export async function startReceiver(serve: Record<string, Served> = {}) {
  const caDir = process.env.POSTERN_TEST_CA_DIR;
  if (!caDir) throw new Error('POSTERN_TEST_CA_DIR is not set (run through scripts/run-tests.mjs)');
  const tls = ensureTls(dirname(caDir), 'localhost');
  const received: { path: string; form: URLSearchParams; body: string; headers: Record<string, string | string[] | undefined> }[] = [];
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ path: req.url!, form: new URLSearchParams(body), body, headers: req.headers });
      const doc = serve[req.url!];
      if (doc?.hang) return;
      if (!doc) return void res.writeHead(200).end();
      res.writeHead(doc.status ?? 200, { 'content-type': doc.type ?? 'application/json', ...doc.headers }).end(doc.body ?? '');
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const url = `https://localhost:${(server.address() as any).port}`;
  return { url, received, serve, close: () => new Promise<void>((res) => { server.closeAllConnections(); server.close(() => res()); }) };
}
