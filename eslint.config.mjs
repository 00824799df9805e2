// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Lint is where the architecture is enforced, so a layer violation fails the build instead of
 * waiting for a review. dependency-cruiser (.dependency-cruiser.cjs) checks the layer graph;
 * the rules here check what is visible in one file.
 */
const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

/** Import paths that reach the top-level folder `part` from one or two folders below the root. */
const relativeTo = (part) => ['../', '../../'].flatMap((up) => [`${up}${part}`, `${up}${part}/**`]);

/**
 * No activity or route picks a shard or a database for order-side data itself: it asks the shard
 * router by the customer's partition key (activities/orders/order-database.ts,
 * api/orders/order-shard.ts), so a customer being moved is fenced everywhere (docs/sharding.md).
 * Only the rebalance's own steps, whose job is moving rows between shards, name shards.
 */
const shardChoiceMessage =
  'order-side data is reached through the shard router by the customer (orderDatabase in activities/orders/order-database.ts, customerDatabase/orderDatabase in api/orders/order-shard.ts), never a database or shard chosen here.';
const shardChoiceImports = [
  { group: ['pg', '@prisma/*', '**/generated/**'], message: shardChoiceMessage },
  { group: ['**/platform/database'], importNames: ['createDatabase'], message: shardChoiceMessage },
  {
    group: ['**/platform/shards/ring-hash', '**/platform/shards/shard-map', '**/domain/sharding/hash-ring'],
    message: shardChoiceMessage,
  },
];
const noShardChoice = [
  'error',
  {
    selector: 'CallExpression[callee.property.name=/^(database|shardFor)$/]',
    message: shardChoiceMessage,
  },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'generated/',
      'coverage/',
      '.data/',
      'test/fixtures/',
      'test/artifacts/',
      'bench/results/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', '*.cjs', '*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its error: in an activity that means a lost effect.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.{js,cjs,mjs}'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs', 'jest.config.js', 'cli/bin.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' },
    },
    // CommonJS entry files load their dependencies with require by nature.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Workflow code is replayed inside Temporal's deterministic sandbox: no I/O, no Node
    // built-ins, no infrastructure, and activities only as types for proxyActivities.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'workflow code must not use Node built-ins (not deterministic).',
          })),
          patterns: [
            {
              group: ['platform', 'events', 'read-models', 'catalogue', 'access', 'dev'].flatMap((part) => [
                `**/${part}`,
                `**/${part}/**`,
              ]),
              message: 'workflow code must not import infrastructure (I/O): only domain/ and activity types.',
            },
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'workflows import activity types only (`import type`); call activities through proxyActivities.',
            },
            {
              group: ['**/api/**', '**/worker/**', '**/generated/**', 'ioredis', 'pg', '@prisma/*', 'express'],
              message: 'workflow code must not do I/O.',
            },
          ],
        },
      ],
    },
  },
  {
    // The domain is pure rules: nothing outside domain/, no I/O.
    files: ['domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'domain/ is pure: no Node built-ins.' })),
          patterns: [
            { group: ['../*', '!../domain', '!../domain/**'], message: 'domain/ imports nothing outside domain/.' },
          ],
        },
      ],
    },
  },
  {
    // The API starts and asks workflows; it never runs an activity in-process.
    files: ['api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'api/ reaches activities only through Temporal (start or signal a workflow).',
            },
            ...shardChoiceImports,
          ],
        },
      ],
      'no-restricted-syntax': noShardChoice,
    },
  },
  {
    // platform/ is what every part stands on: it imports none of them.
    files: ['platform/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['events', 'read-models', 'catalogue', 'access', 'dev', 'activities', 'workflows', 'api', 'worker']
                .concat(['cli', 'scripts'])
                .flatMap((part) => relativeTo(part)),
              message: 'platform/ imports no other part of shopflow (they stand on it).',
            },
          ],
        },
      ],
    },
  },
  {
    // Activities run in the worker; HTTP is the API process alone.
    files: ['activities/**/*.ts'],
    ignores: ['activities/rebalance/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: relativeTo('api'), message: 'activities/ never import the HTTP layer (api/).' },
            ...shardChoiceImports,
          ],
        },
      ],
      'no-restricted-syntax': noShardChoice,
    },
  },
  {
    // The rebalance's steps move rows between shards: they name shards, and nothing else may.
    files: ['activities/rebalance/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: relativeTo('api'), message: 'activities/ never import the HTTP layer (api/).' }] },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // supertest's response bodies are `any` by design; tests assert their shape with expect().
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
