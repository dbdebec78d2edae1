import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { freePort, type TestServer } from './server.ts';

// Debian's Chromium for the browser tests (never a downloaded one), and the
// test server's certificate for the applications they serve beside it.

/**
 * Headless Chromium with a profile of its own: Playwright's default contexts
 * are incognito, where Chromium blocks third-party cookies.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'postern-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    ignoreHTTPSErrors: true,
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}

/** The server's localhost certificate, so an application on another port is https too (and same-site). */
export const serverTls = (s: TestServer) => ({
  key: readFileSync(join(s.dataDir, 'tls', 'server-localhost-key.pem')),
  cert: readFileSync(join(s.dataDir, 'tls', 'server-localhost.pem')),
});

export interface BrowserRig {
  /** https://localhost:<port>: the application's origin, same site as the server. */
  origin: string;
  context: BrowserContext;
  /** What the application answers; set once the test has made what its pages need. */
  serve(handler: RequestListener): void;
  close(): Promise<void>;
}

/** Chromium, and an application served over https beside the server (a 404 until `serve` is called). */
export async function browserRig(s: TestServer): Promise<BrowserRig> {
  const port = await freePort();
  let handler: RequestListener = (_req, res) => { res.writeHead(404); res.end(); };
  const web = createServer(serverTls(s), (req, res) => handler(req, res));
  await new Promise<void>((r) => web.listen(port, '127.0.0.1', r));
  const browser = await launchChromium();
  return {
    origin: `https://localhost:${port}`,
    context: browser.context,
    serve(h) { handler = h; },
    async close() {
      await browser.close();
      await new Promise((r) => web.close(r));
    },
  };
}
