/**
 * The layer rules of shopflow, checked on the real import graph (`npm run lint`).
 * Type-only imports are seen as such (tsPreCompilationDeps), so `import type` of an activity
 * interface into a workflow is allowed while a value import is not.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'workflows-no-node-builtins',
      comment: 'Workflow code runs in a deterministic sandbox: Node built-ins are not available or not deterministic.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'workflows-no-infrastructure',
      comment:
        'Every part but domain/ does I/O (database, Redis, config, HTTP): workflows reach it only through activities.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^(platform|events|read-models|catalogue|access|dev|api|worker|generated|cli|scripts)/' },
    },
    {
      name: 'platform-imports-no-part',
      comment:
        'platform/ is what every part stands on (config, database, Redis, Temporal, logs, metrics): it imports none of them.',
      severity: 'error',
      from: { path: '^platform/' },
      to: { path: '^(events|read-models|catalogue|access|dev|activities|workflows|api|worker|cli|scripts)/' },
    },
    {
      name: 'workflows-no-io-packages',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: 'node_modules/(ioredis|pg|@prisma|express|pino)/' },
    },
    {
      name: 'workflows-activity-types-only',
      comment: 'Workflows import activity interfaces as types and call them through proxyActivities.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'domain-is-pure',
      comment: 'domain/ holds pure rules: it imports nothing outside domain/ (no I/O, no frameworks).',
      severity: 'error',
      from: { path: '^domain/' },
      to: { pathNot: '^domain/' },
    },
    {
      name: 'api-no-activities',
      comment: 'The API reaches activities only through Temporal, never by calling them in-process.',
      severity: 'error',
      from: { path: '^api/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'activities-no-api',
      comment: 'Activities run in the worker; the HTTP layer is the API process alone.',
      severity: 'error',
      from: { path: '^activities/' },
      to: { path: '^api/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(generated|node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
