import { jest } from '@jest/globals';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * jest's CommonJS loader cannot `require()` an ES module before Node 24.9
 * (Node 20.19+ itself can). Mercurius (CommonJS) requires `@fastify/static`,
 * which requires the ESM-only `content-disposition` 3.x: under jest on Node
 * 20 loading mercurius throws "Must use import to load ES Module". This
 * imports that module as an ES module and registers its namespace as what
 * `require()` returns for it (what Node's own require(esm) returns), so the
 * real package runs. Await it before mercurius is first imported: the
 * sample-app harness does at load (the sample mounts Mercurius on Fastify),
 * and so do the GraphQL specs that import mercurius themselves. Each test
 * file has its own module registry, so each file needs it once.
 */
export async function requireEsmAsNodeDoes(fromPackage: string, dependency: string): Promise<void> {
  const requireFromPackage = createRequire(createRequire(import.meta.url).resolve(fromPackage));
  const path = requireFromPackage.resolve(dependency);
  const namespace = (await import(pathToFileURL(path).href)) as object;
  jest.setMock(path, namespace);
}
