#!/usr/bin/env node
// `npx poolscope …` from a checkout: runs the TypeScript CLI (main/cli.ts) through tsx,
// in this process, so exit codes and signals are the CLI's own.
import { register } from 'tsx/esm/api';

register();
await import('../main/cli.ts');
