import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';
import { inspect } from 'node:util';

/** One call of a Nest logger method, as the app made it. */
export interface CapturedLine {
  level: LogLevel;
  /** The logger's context (`SessionEvents`, `SessionModule`, `RouterExplorer`...), when it has one. */
  context?: string;
  /** The message argument, as text. */
  message: string;
  /** Everything the call would print: the message and every other argument (errors with stack and causes). */
  text: string;
}

/**
 * A Nest `LoggerService` that prints nothing and keeps every call, at every
 * level: whatever levels an app asks for (`setLogLevels`), all of them are
 * recorded, so a line at `verbose` is seen as surely as one at `error`.
 */
export class CapturingLogger implements LoggerService {
  readonly lines: CapturedLine[] = [];

  log(message: unknown, ...params: unknown[]): void {
    this.record('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.record('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.record('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.record('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.record('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.record('fatal', message, params);
  }

  /** Ignored on purpose: the capture keeps every level (see the class comment). */
  setLogLevels(_levels: LogLevel[]): void {}

  /** Read by `Logger.isLevelEnabled()`: every level is on. */
  isLevelEnabled(_level: LogLevel): boolean {
    return true;
  }

  /** A position in the log, for {@link since}. */
  mark(): number {
    return this.lines.length;
  }

  /** The lines written after `mark`. */
  since(mark: number): CapturedLine[] {
    return this.lines.slice(mark);
  }

  private record(level: LogLevel, message: unknown, params: unknown[]): void {
    // Nest's `Logger` appends its context as the last argument (ConsoleLogger reads it so too).
    const context =
      params.length > 0 && typeof params.at(-1) === 'string'
        ? (params.at(-1) as string)
        : undefined;
    const rest = context === undefined ? params : params.slice(0, -1);
    const text = [message, ...rest].map(render).join(' ');
    this.lines.push({ level, context, message: render(message), text });
  }
}

/** A value as a logger could print it: strings as they are, anything else in full (errors with stack and causes). */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  return inspect(value, {
    depth: 8,
    breakLength: Infinity,
    maxArrayLength: Infinity,
    maxStringLength: Infinity,
  });
}

/**
 * This test file's log: every Nest log line of every app the harness starts
 * in the file (module state is per test file under jest). One logger for
 * all of them, because Nest's `Logger` is process-wide: the last
 * `NestFactory.create({ logger })` decides for every app, and the library's
 * `new Logger('SessionEvents')` writes to it.
 */
export const fileLog = new CapturingLogger();

/** How many apps the harness started in this file (the leak check wants lines when it did). */
export const fileApps = { started: 0 };

/** Routes Nest's process-wide `Logger` to {@link fileLog}; answers it (a `NestFactory.create` `logger`). */
export function captureNestLogs(): CapturingLogger {
  Logger.overrideLogger(fileLog);
  return fileLog;
}
