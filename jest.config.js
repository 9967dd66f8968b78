/**
 * jest 30 runs the TypeScript sources as native ES modules (Nest 12 is ESM-only):
 * @swc/jest compiles each file with the decorator settings in .swcrc, and
 * `./x.js` specifiers (NodeNext style) are mapped back to the `.ts` source.
 */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/lib', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': '@swc/jest' },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
};
