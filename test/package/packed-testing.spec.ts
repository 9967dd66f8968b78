import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  packPackage,
  ROOT as root,
  run,
  succeed,
  type PackedPackage,
} from '../support/packed-package.js';

/** node:test's TAP summary: `# pass 33`, `# fail 0`. */
function summary(output: string, field: 'tests' | 'pass' | 'fail'): number {
  const match = new RegExp(`^# ${field} (\\d+)$`, 'm').exec(output);
  if (!match) throw new Error(`no '# ${field}' line in node --test output:\n${output}`);
  return Number(match[1]);
}

const CONTRACT_ON_MEMORY = `import 'reflect-metadata';
import { describe, it } from 'node:test';
import { MemoryStore } from 'nest-session-manager';
import { runSessionStoreContract } from 'nest-session-manager/testing';

runSessionStoreContract({ name: 'MemoryStore (packed)', createStore: () => new MemoryStore(), describe, it });
`;

const CONTRACT_ON_BROKEN_STORE = `import 'reflect-metadata';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MemoryStore } from 'nest-session-manager';
import { runSessionStoreContract } from 'nest-session-manager/testing';

/** A store that ignores \`unset\` in delta writes. */
class DropsUnset extends MemoryStore {
  update(key, { unset, ...patch }, ttlMs) {
    return super.update(key, patch, ttlMs);
  }
}

runSessionStoreContract({
  name: 'DropsUnset',
  createStore: () => new DropsUnset(),
  describe,
  it,
  beforeEach,
  afterEach,
});
`;

/** Type-checked, not run: both runners' functions fit, and the options are typed. */
const TYPED_CONSUMER = `import { describe as jestDescribe, it as jestIt, beforeEach, afterEach } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { describe, it } from 'node:test';
import { MemoryStore, type SessionStore } from 'nest-session-manager';
import {
  createSessionCookie,
  runSessionStoreContract,
  type SessionCookieLogin,
  type SessionStoreContractOptions,
} from 'nest-session-manager/testing';

runSessionStoreContract({ name: 'node:test', createStore: () => new MemoryStore(), describe, it });
runSessionStoreContract({
  name: 'jest',
  createStore: async () => new MemoryStore(),
  destroyStore: (store) => store.close(),
  describe: jestDescribe,
  it: jestIt,
  beforeEach,
  afterEach,
});
const options: SessionStoreContractOptions<SessionStore> = {
  name: 'x',
  createStore: () => new MemoryStore(),
  describe,
  it,
};
runSessionStoreContract(options);
// @ts-expect-error createStore is required
runSessionStoreContract({ name: 'x', describe, it });

declare const app: INestApplication;
const login: SessionCookieLogin = { userId: 42, roles: ['admin'], data: { cart: ['apple'] } };
export const cookie: Promise<string> = createSessionCookie(app, login);
// @ts-expect-error userId is required
void createSessionCookie(app, { roles: [] });
`;

/**
 * The "Done when" check of the testing entry: the package as `npm pack`
 * makes it, installed in a project outside the repo, lets a node:test file
 * import `nest-session-manager/testing` and prove a store with it. Built
 * into a temporary directory (the repo's dist/ is left alone); the project
 * reaches the peer dependencies through a `node_modules` symlink to the
 * repo's, so nothing is downloaded.
 */
describe('the packed package: nest-session-manager/testing', () => {
  let packed: PackedPackage;
  let project: string;
  let tarball: string;
  let work: string;

  beforeAll(async () => {
    packed = await packPackage();
    ({ tarball, work } = packed);
    project = await packed.project('project');
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'outside-project',
        private: true,
        type: 'module',
        dependencies: { 'nest-session-manager': `file:${tarball}` },
      }),
    );
    await writeFile(join(project, 'memory.test.mjs'), CONTRACT_ON_MEMORY);
    await writeFile(join(project, 'drops-unset.test.mjs'), CONTRACT_ON_BROKEN_STORE);
    await writeFile(join(project, 'consumer.ts'), TYPED_CONSUMER);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await packed?.remove();
  });

  it('ships dist/testing (JavaScript and declarations) behind a second exports entry', async () => {
    const files = (await succeed('tar', ['-tzf', tarball], work)).split('\n');
    for (const file of [
      'package/dist/testing/index.js',
      'package/dist/testing/index.d.ts',
      'package/dist/testing/store-contract.js',
      'package/dist/testing/session-cookie.d.ts',
    ]) {
      expect(files).toContain(file);
    }
    expect(files.filter((file) => file.includes('.spec.'))).toEqual([]);
  });

  it('a node:test file outside the repo runs the contract against MemoryStore, and it passes', async () => {
    const ran = await run(
      process.execPath,
      ['--test', '--test-reporter=tap', 'memory.test.mjs'],
      project,
    );
    expect({ code: ran.code, fail: summary(ran.output, 'fail') }).toEqual({ code: 0, fail: 0 });
    expect(summary(ran.output, 'pass')).toBeGreaterThanOrEqual(30);
  });

  it('the same contract fails a store that ignores `unset` in delta writes', async () => {
    const ran = await run(
      process.execPath,
      ['--test', '--test-reporter=tap', 'drops-unset.test.mjs'],
      project,
    );
    expect(ran.code).not.toBe(0);
    expect(summary(ran.output, 'fail')).toBeGreaterThanOrEqual(1);
    expect(ran.output).toMatch(/^\s*not ok \d+ - update writes only the changed keys/m);
  });

  it('is typed: a consumer type-checks with node:test and jest runners', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const ran = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
    expect(ran).toEqual({ code: 0, output: '' });
  });
});
