/**
 * jest 30 runs the TypeScript sources as native ES modules (Nest 12 is ESM-only):
 * @swc/jest compiles each file with the decorator settings in .swcrc, and
 * `./x.js` specifiers (NodeNext style) are mapped back to the `.ts` source.
 *
 * Two projects: everything on the in-memory store, then the e2e suite again
 * with E2E_STORE=redis-pair (two sample-app instances sharing one RedisStore
 * behind a round-robin proxy; see test/support/sample-app.harness.ts). One
 * of them alone: `npm test -- --selectProjects 'unit+e2e (memory)'`.
 */
const shared = {
  testEnvironment: 'node',
  testMatch: ['**/*.spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': '@swc/jest' },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  // After each test file: no log line of the apps it started holds a secret (issue 11 item 2).
  setupFilesAfterEnv: ['<rootDir>/test/support/log-leak.setup.ts'],
};

export default {
  testTimeout: 30000,
  projects: [
    {
      ...shared,
      displayName: 'unit+e2e (memory)',
      roots: ['<rootDir>/lib', '<rootDir>/test'],
    },
    {
      ...shared,
      displayName: 'e2e (2 instances on Redis)',
      roots: ['<rootDir>/test/e2e'],
      setupFiles: ['<rootDir>/test/support/redis-pair.setup.ts'],
    },
  ],
};
