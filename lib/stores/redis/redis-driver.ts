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
  /**
   * Sends a command about the server itself (INFO) to every master, one
   * reply each: the one server on standalone, each master of a Cluster.
   */
  sendToMasters(args: string[]): Promise<unknown[]>;
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
