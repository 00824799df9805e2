// Two projects: `unit` needs no services; `integration` runs against the real PostgreSQL and
// Redis and an ephemeral Temporal dev server that test/support/global-setup.ts starts.
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // The generated Prisma client imports its siblings as `./x.js`; the sources are `./x.ts`.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testPathIgnorePatterns: ['/node_modules/', '/test/fixtures/'],
};

module.exports = {
  // Jest reads testTimeout only at the top level, not per project. Integration tests wait on real
  // services; unit tests that hang still fail, just later.
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // Replays recorded histories against workflows/: no services needed, only the workflow bundle.
    { ...shared, displayName: 'replay', testMatch: ['<rootDir>/test/replay/**/*.test.ts'], testTimeout: 60_000 },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      testTimeout: 60_000,
    },
  ],
};
