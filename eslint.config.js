// Lint for correctness, not style: formatting is Prettier's (npm run format). ESLint's and
// typescript-eslint's recommended rules over the repository's TypeScript and JavaScript.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const node = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'fetch',
    'AbortController',
    'AbortSignal',
    'TextEncoder',
    'TextDecoder',
    'structuredClone',
    'queueMicrotask',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate'
  ].map((name) => [name, 'readonly'])
)

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'coverage/**', '**/*.d.mts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: node },
    rules: {
      // Unused bindings are dead code; a leading underscore marks one kept on purpose (a field destructured away).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true
        }
      ],
      // A catch that ignores its error on purpose (best-effort cleanup) is allowed; other empty blocks are not.
      'no-empty': ['error', { allowEmptyCatch: true }],
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // Control characters are matched on purpose: they are what messages neutralise (annotations, excerpts).
      'no-control-regex': 'off',
      // Style, not correctness: expected texts quote the exact spacing of real output.
      'no-regex-spaces': 'off',
      // Parsed JSON from kubectl/helm/talosctl is explored loosely in a few places; the boundary is typed.
      '@typescript-eslint/no-explicit-any': 'off'
    }
  }
)
