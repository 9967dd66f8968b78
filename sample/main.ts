import { Logger } from '@nestjs/common';
import { installGracefulShutdown } from './graceful-shutdown.js';
import { readSampleConfig } from './sample.config.js';
import { createSampleApp } from './sample-app.js';

const config = readSampleConfig();
const app = await createSampleApp(config);
await app.listen(config.port, '127.0.0.1');
// After listen(): the drain works on the listening server; until then Nest's own hooks handle a signal.
installGracefulShutdown(app, { timeoutMs: config.shutdownTimeoutMs });
new Logger('Sample').log(
  `Listening on http://127.0.0.1:${config.port} (${config.platform}, ${config.redisUrl ? 'RedisStore' : 'MemoryStore'})`,
);
