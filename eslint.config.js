import { builtinModules } from 'node:module';
import { defineConfig, globalIgnores } from 'eslint/config';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Layering (docs: ARCHITECTURE.md, "Where code lives"): the folder a file lives in says where it
// may run. Relative specifiers are matched as written, so `(\.\./)+main` means "climbs out into
// the top-level main/". In flat config a later no-restricted-imports replaces an earlier one,
// so every layer lists the complete set of patterns that apply to it.
const electron = {
  regex: '^electron(/.*)?$',
  message: "Only main/electron/ may import 'electron': everything else must also run without it.",
};
const nodeBuiltins = {
  regex: `^(node:.*|${builtinModules.join('|')})$`,
  message: 'No Node built-ins here: this code also runs in the renderer.',
};
const intoMain = {
  regex: '^(\\.\\./)+main(/|$)',
  message: 'main/ is not reachable from here: go through the API contract in shared/.',
};
const intoRenderer = {
  regex: '^(\\.\\./)+renderer(/|$)',
  message: 'renderer/ is UI only: move shared code to shared/.',
};
const intoHosts = {
  regex: '^(\\.\\./)+(main/)?(electron|web)(/|$)',
  message: 'The engine is host-agnostic: main/electron and main/web adapt it, not the reverse.',
};
const agentOnly = "The agent runs inside the user's app: only Node built-ins (node:…), its own files (./) and require-in-the-middle.";
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default defineConfig([
  globalIgnores(['out/', 'dist/', 'node_modules/', 'test-results/', 'playwright-report/']),
  tseslint.configs.recommended,
  svelte.configs['flat/recommended'],
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
  },
  {
    rules: {
      // `_name` marks a parameter or binding that is unused on purpose (callback signatures).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['main/**', 'scripts/**', 'tests/**', '*.js', '*.mjs', '*.ts'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: globals.browser },
  },

  // Layering. Static imports are covered here; a dynamic import('electron') is caught below.
  {
    ignores: ['main/electron/**'],
    rules: {
      ...restrict(electron),
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.value=/^electron(\\u002F|$)/]', message: electron.message },
      ],
    },
  },
  // Every poll of an end-to-end test states its own timeout, sized to what it waits for:
  // the runner's 1 s default failed CI under load.
  {
    files: ['tests/e2e/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.value=/^electron(\\u002F|$)/]', message: electron.message },
        { selector: "CallExpression[callee.object.name='expect'][callee.property.name='poll'][arguments.length=1]", message: 'expect.poll: state its own timeout ({ timeout: ms }).' },
        { selector: "CallExpression[callee.object.name='expect'][callee.property.name='poll'] > ObjectExpression:not(:has(> Property[key.name='timeout']))", message: 'expect.poll: state its own timeout ({ timeout: ms }).' },
      ],
    },
  },
  // The attach agent runs inside the user's app, as plain CommonJS that Node loads directly:
  // Node built-ins, its own files and the hook library only, never the engine or a UI package.
  {
    files: ['main/agent/**'],
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      // A wrapper passes on the driver's `this` and keeps the object it observes.
      '@typescript-eslint/no-this-alias': 'off',
      ...restrict(electron, { regex: '^(?!node:|\\./|require-in-the-middle$)', message: agentOnly }),
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.value=/^electron(\\u002F|$)/]', message: electron.message },
        { selector: "CallExpression[callee.name='require'][arguments.0.value!=/^(node:|\\u002E\\u002F|require-in-the-middle$)/]", message: agentOnly },
      ],
    },
  },
  // Pool metrics (opt-in) load the OpenTelemetry SDK, only when asked for.
  {
    files: ['main/agent/metrics.cjs'],
    rules: {
      ...restrict(electron, { regex: '^(?!node:|\\./|@opentelemetry/)', message: agentOnly }),
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.name='require'][arguments.0.value!=/^(node:|\\u002E\\u002F|@opentelemetry\\u002F)/]", message: agentOnly }],
    },
  },
  { files: ['tests/integration/attach-apps/**/*.cjs', 'tests/integration/check-suites/**/*.cjs', 'tests/bench/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  { files: ['shared/**'], rules: restrict(electron, nodeBuiltins, intoMain, intoRenderer) },
  { files: ['renderer/**'], rules: restrict(electron, nodeBuiltins, intoMain) },
  { files: ['main/engine/**'], rules: restrict(electron, intoRenderer, intoHosts) },
]);
