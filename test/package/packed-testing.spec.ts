import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '..', '..');
const exec = promisify(execFile);

interface Ran {
  code: number;
  output: string;
}

/** Runs a command to its end; a non-zero exit is an answer here, not an error. */
async function run(command: string, args: string[], cwd: string): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(command, args, {
      cwd,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

async function succeed(command: string, args: string[], cwd: string): Promise<string> {
  const ran = await run(command, args, cwd);
  if (ran.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${ran.code}:\n${ran.output}`);
  }
  return ran.output;
}

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
  let work: string;
  let project: string;
  let tarball: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'nsm-packed-'));
    const pkg = join(work, 'pkg');
    await mkdir(pkg);
    await succeed('npm', ['run', 'build', '--', '--outDir', join(pkg, 'dist')], root);
    for (const file of ['package.json', 'README.md']) {
      await copyFile(join(root, file), join(pkg, file));
    }
    await succeed('npm', ['pack', '--pack-destination', work, '--silent'], pkg);
    tarball = join(
      work,
      (await readdir(work)).find((name) => name.endsWith('.tgz'))!,
    );

    project = join(work, 'project');
    const installed = join(project, 'node_modules', 'nest-session-manager');
    await mkdir(installed, { recursive: true });
    await succeed('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], work);
    // Peer and own dependencies: found by Node (and tsc) one level up.
    await symlink(join(root, 'node_modules'), join(work, 'node_modules'), 'dir');
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
    if (work) await rm(work, { recursive: true, force: true });
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
