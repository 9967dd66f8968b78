import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The repository's root. */
export const ROOT = join(import.meta.dirname, '..', '..');
const exec = promisify(execFile);

export interface Ran {
  code: number;
  output: string;
}

/** Runs a command to its end; a non-zero exit is an answer here, not an error. */
export async function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(command, args, {
      cwd,
      env,
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

/** Runs a command that must succeed; its output. */
export async function succeed(command: string, args: string[], cwd: string): Promise<string> {
  const ran = await run(command, args, cwd);
  if (ran.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${ran.code}:\n${ran.output}`);
  }
  return ran.output;
}

/** The package as `npm pack` makes it, in a temporary directory of its own. */
export interface PackedPackage {
  /** The temporary directory (removed by `remove()`). */
  work: string;
  tarball: string;
  /**
   * A project directory under `work` with the tarball installed in its
   * `node_modules`; the peer and own dependencies are found one level up,
   * through a symlink to the repository's `node_modules`, so nothing is
   * downloaded.
   */
  project(name: string): Promise<string>;
  remove(): Promise<void>;
}

/**
 * Builds the library into a temporary directory (the repository's dist/ is
 * left alone) and packs it with the files `npm pack` would take from the
 * repository: package.json, README.md, LICENSE.
 */
export async function packPackage(): Promise<PackedPackage> {
  const work = await mkdtemp(join(tmpdir(), 'nsm-packed-'));
  const pkg = join(work, 'pkg');
  await mkdir(pkg);
  await succeed('npm', ['run', 'build', '--', '--outDir', join(pkg, 'dist')], ROOT);
  for (const file of ['package.json', 'README.md', 'LICENSE']) {
    await copyFile(join(ROOT, file), join(pkg, file));
  }
  await succeed('npm', ['pack', '--pack-destination', work, '--silent'], pkg);
  const tarball = join(
    work,
    (await readdir(work)).find((name) => name.endsWith('.tgz'))!,
  );
  await symlink(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
  return {
    work,
    tarball,
    async project(name: string): Promise<string> {
      const project = join(work, name);
      const installed = join(project, 'node_modules', 'nest-session-manager');
      await mkdir(installed, { recursive: true });
      await succeed('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], work);
      return project;
    },
    remove: () => rm(work, { recursive: true, force: true }),
  };
}
