// `node --import poolscope/attach app.mjs`: the same agent for ESM apps. Their
// `import pg from 'pg'` and `import mysql from 'mysql2/promise'` load the drivers'
// CommonJS files through require, where the agent's hook sees them.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./agent.cjs');
