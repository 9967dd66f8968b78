import type { Cluster, Redis } from 'ioredis';
import type { LuaScript } from './redis.scripts.js';

/**
 * The few things RedisStore needs from a Redis client, so that ioredis and
 * node-redis clients (standalone or Cluster) are used the same way.
 */
export interface RedisDriver {
  /** Whether keys live on several nodes (scripts must then touch one slot each). */
  readonly isCluster: boolean;
  /** Sends one command; `key` is the key that routes it on a Cluster. */
  send(args: string[], key: string): Promise<unknown>;
  /** Closes the connection (only called for clients the store created). */
  close(): Promise<void>;
}

/**
 * Runs a script by SHA; a server that lacks it (first call per node, or after
 * a restart or SCRIPT FLUSH) answers NOSCRIPT and gets the source once.
 */
export async function runScript(
  driver: RedisDriver,
  script: LuaScript,
  keys: string[],
  args: string[],
): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await driver.send(['EVALSHA', script.sha, ...tail], keys[0]);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return driver.send(['EVAL', script.source, ...tail], keys[0]);
  }
}

/** Whether a value looks like an ioredis `Redis` or `Cluster` client. */
export function isIoredisClient(client: unknown): client is Redis | Cluster {
  const candidate = client as Partial<Redis> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.call === 'function' &&
    typeof candidate.defineCommand === 'function'
  );
}

/** Driver over an ioredis `Redis` or `Cluster` (`call` routes by the command's keys). */
export class IoredisDriver implements RedisDriver {
  readonly isCluster: boolean;

  constructor(private readonly client: Redis | Cluster) {
    this.isCluster = (client as { isCluster?: boolean }).isCluster === true;
    const keyPrefix = (client.options as { keyPrefix?: string } | undefined)?.keyPrefix;
    if (keyPrefix) {
      // Scripts derive index keys from the store's prefix; a client-side
      // prefix would be added to KEYS but not to those.
      throw new TypeError(
        'RedisStore: the ioredis client has a keyPrefix; use the store `prefix` option instead',
      );
    }
  }

  send(args: string[]): Promise<unknown> {
    const [command, ...rest] = args;
    return this.client.call(command, ...rest);
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      // already closed or unreachable: nothing left to release but the socket
      this.client.disconnect();
    }
  }
}
