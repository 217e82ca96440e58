// The suites `poolscope check` runs under vitest in tests/integration/check.test.ts (not part of Poolscope's own run).
export default { test: { include: ['*.test.mjs'], environment: 'node' } };
