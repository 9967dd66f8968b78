import type { RedisDriver } from './redis-driver.js';

/** The part of a node-redis (`redis` package) client the store uses. */
export interface NodeRedisClientLike {
  readonly isOpen: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  close?(): Promise<void>;
}

/** The part of a node-redis Cluster (`createCluster`) the store uses. */
export interface NodeRedisClusterLike {
  readonly isOpen: boolean;
  readonly masters: unknown[];
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  /** The client of one node of `masters` (a promise in node-redis 5 and later). */
  nodeClient(node: unknown): NodeRedisClientLike | Promise<NodeRedisClientLike>;
  close?(): Promise<void>;
}

/** Whether a value looks like a node-redis client or cluster (and not an ioredis one). */
export function isNodeRedisClient(
  client: unknown,
): client is NodeRedisClientLike | NodeRedisClusterLike {
  const candidate = client as Record<string, unknown> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.sendCommand === 'function' &&
    'isOpen' in candidate &&
    typeof candidate.defineCommand !== 'function'
  );
}

/**
 * Driver over a node-redis client: commands go through `sendCommand`, which
 * takes raw arguments, so every reply comes back as Redis sent it (RESP2
 * arrays, or RESP3 maps: the store reads both). The app connects the client
 * (`await client.connect()`) and owns it.
 */
export class NodeRedisDriver implements RedisDriver {
  readonly isCluster: boolean;

  constructor(private readonly client: NodeRedisClientLike | NodeRedisClusterLike) {
    this.isCluster = Array.isArray((client as Partial<NodeRedisClusterLike>).masters);
  }

  send(args: string[], key: string): Promise<unknown> {
    if (this.isCluster) {
      return (this.client as NodeRedisClusterLike).sendCommand(key, false, args);
    }
    return (this.client as NodeRedisClientLike).sendCommand(args);
  }

  async sendToMasters(args: string[]): Promise<unknown[]> {
    if (!this.isCluster) return [await (this.client as NodeRedisClientLike).sendCommand(args)];
    const cluster = this.client as NodeRedisClusterLike;
    return Promise.all(
      cluster.masters.map(async (master) => (await cluster.nodeClient(master)).sendCommand(args)),
    );
  }

  async close(): Promise<void> {
    await this.client.close?.();
  }
}
