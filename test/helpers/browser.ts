import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { TestServer } from './server.ts';

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
