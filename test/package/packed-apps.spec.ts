import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packPackage, ROOT, run, type PackedPackage } from '../support/packed-package.js';

/**
 * Issue 12 item 6: a Nest app as users write it, in TypeScript compiled by
 * tsc, installs the packed tarball and starts, both as a CommonJS project
 * (still the default of many: `require()` of this ESM package, which Node
 * 20.19+ allows when `exports` offers a `default` condition) and as an ESM
 * one. Each app serves one route that counts views in its session; the test
 * calls it twice with the cookie it got and expects 1 then 2.
 */

/** The app's source; `import` is compiled to `require()` in the CommonJS project. */
const APP_SOURCE = `import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MemoryStore, Session, SessionModule } from 'nest-session-manager';

@Controller()
class ViewsController {
  @Get()
  views(@Session() session: Session<{ views: number }>) {
    const views = (session.get('views') ?? 0) + 1;
    session.set('views', views);
    return { views };
  }
}

@Module({
  imports: [
    SessionModule.forRoot({ secret: 'packed-app-secret-0123456789-abcdefghijk', store: new MemoryStore() }),
  ],
  controllers: [ViewsController],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const first = await fetch(url);
  const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0];
  const second = await fetch(url, { headers: { cookie } });
  console.log(JSON.stringify([await first.json(), await second.json(), cookie.startsWith('sid=')]));
  await app.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

const TSCONFIG = {
  compilerOptions: {
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    types: ['node'],
    outDir: 'dist',
  },
  files: ['main.ts'],
};

describe('a Nest app on the packed package, started with node', () => {
  let packed: PackedPackage;

  beforeAll(async () => {
    packed = await packPackage();
  }, 120_000);
  afterAll(async () => {
    await packed?.remove();
  });

  it.each([
    ['CommonJS', 'commonjs', /require\("nest-session-manager"\)/],
    ['ESM', 'module', /from 'nest-session-manager'/],
  ])(
    '%s project: tsc compiles it, node starts it, the session counts views',
    async (_name, type, compiledImport) => {
      const project = await packed.project(`app-${type}`);
      await writeFile(
        join(project, 'package.json'),
        JSON.stringify({ name: `packed-app-${type}`, private: true, type }),
      );
      await writeFile(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));
      await writeFile(join(project, 'main.ts'), APP_SOURCE);

      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      expect(await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project)).toEqual({
        code: 0,
        output: '',
      });
      const { readFile } = await import('node:fs/promises');
      expect(await readFile(join(project, 'dist', 'main.js'), 'utf8')).toMatch(compiledImport);

      const started = await run(process.execPath, [join('dist', 'main.js')], project);
      expect(started.code).toBe(0);
      expect(JSON.parse(started.output.trim().split('\n').at(-1)!)).toEqual([
        { views: 1 },
        { views: 2 },
        true,
      ]);
    },
    120_000,
  );
});
