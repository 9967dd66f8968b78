// jest setupFilesAfterEnv of both projects (jest.config.js): after each test file, no log
// line of its apps may hold a secret (issue 11 item 2, "the log-leak test").
import { afterAll } from '@jest/globals';
import { fileApps, fileLog, type CapturedLine } from './log-capture.js';
import { fileSecrets, recordEnvironmentSecrets } from './wire-secrets.js';

/** How many leaks a failure lists (one is enough to act on; all of them could be thousands). */
const SHOWN = 5;

afterAll(() => {
  if (fileApps.started === 0) return; // no app of the harness: nothing was captured or recorded
  // The file started apps, and Nest logs at least its start-up: no lines means no capture.
  if (fileLog.lines.length === 0) {
    throw new Error(
      `log-leak check: ${fileApps.started} app(s) started, but no log line was captured`,
    );
  }
  // The harness recorded its own secrets and the apps'; the process may hold more.
  recordEnvironmentSecrets(process.env);
  const leaks = findLeaks(fileLog.lines, fileSecrets);
  if (leaks.length === 0) return;
  const shown = leaks
    .slice(0, SHOWN)
    .map(
      ({ secret, origin, line }) =>
        `  ${origin} (${secret.slice(0, 6)}…) in a ${line.level} line of ${line.context ?? '(no context)'}: ` +
        line.text.replaceAll(secret, '<SECRET>').slice(0, 300),
    );
  throw new Error(
    `log-leak check: ${leaks.length} secret(s) of ${fileSecrets.size} recorded appear in the ` +
      `${fileLog.lines.length} log lines of this file's apps:\n${shown.join('\n')}`,
  );
});

interface Leak {
  secret: string;
  origin: string;
  line: CapturedLine;
}

/**
 * Each secret that occurs in some line, with the first such line. One search
 * over the distinct lines joined (many repeat: every app logs its routes),
 * then the line, for the secrets found only.
 */
function findLeaks(lines: CapturedLine[], secrets: Map<string, string>): Leak[] {
  const distinct = [...new Map(lines.map((line) => [line.text, line])).values()];
  const text = distinct.map((line) => line.text).join('\n');
  const leaks: Leak[] = [];
  for (const [secret, origin] of secrets) {
    if (!text.includes(secret)) continue;
    // A secret can straddle two joined lines only by way of the '\n' between them.
    const line = distinct.find((one) => one.text.includes(secret));
    if (line) leaks.push({ secret, origin, line });
  }
  return leaks;
}
