#!/usr/bin/env node
// Loads the TypeScript sources through tsx so `npm ci && npm start` needs no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
