import { IsIn } from 'class-validator';
import type { SessionEventLogLevel } from '../events/session-event-logger.js';

const LEVELS: SessionEventLogLevel[] = ['log', 'warn', 'debug', 'verbose'];

/** The event log's settings (`logging` of `SessionModuleOptions`). */
export interface SessionLoggingOptions {
  /**
   * Nest `Logger` level of lifecycle events (created, rotated, destroyed,
   * expired, token issued and refreshed). Default `'debug'`: an audit trail
   * when asked for, no noise otherwise.
   */
  level?: SessionEventLogLevel;
  /** Level of events that may need a look (rejected, refresh token reuse). Default `'warn'`. */
  problemLevel?: SessionEventLogLevel;
}

/** The `logging` group with its defaults on the fields (documented on {@link SessionLoggingOptions}). */
export class LoggingOptionsSchema implements SessionLoggingOptions {
  @IsIn(LEVELS, { message: `logging.level must be one of ${LEVELS.join(', ')}` })
  level: SessionEventLogLevel = 'debug';

  @IsIn(LEVELS, { message: `logging.problemLevel must be one of ${LEVELS.join(', ')}` })
  problemLevel: SessionEventLogLevel = 'warn';
}
