import type { Cluster, Redis } from 'ioredis';
import type { RedisDriver } from './redis-driver.js';

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

  sendToMasters(args: string[]): Promise<unknown[]> {
    const [command, ...rest] = args;
    const nodes = this.isCluster ? (this.client as Cluster).nodes('master') : [this.client];
    return Promise.all(nodes.map((node) => node.call(command, ...rest)));
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
