import { SessionStoreUnavailableError } from '../stores/store-outage.js';
import { CommitRefusal } from '../session/commit-refusal.js';
import {
  SessionStoreUnavailableException,
  SessionTooLargeException,
  STORE_RETRY_AFTER_SECONDS,
} from '../session.exceptions.js';

/** The response that replaces the app's when its session could not be committed. */
export interface CommitFailureResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A commit failed while the response was on its way out. The app's answer
 * cannot stand (the client would act on a session that was not saved), so it
 * is replaced: 503 + Retry-After for a store outage, 413 for data grown
 * past `maxSessionBytes`, 500 otherwise (e.g. a value that stopped being
 * JSON-serializable).
 */
export function commitFailureResponse(error: unknown): CommitFailureResponse {
  if (error instanceof CommitRefusal) {
    // A rotation that lost to a logout (401, cookie cleared) or to a different
    // privilege change (409): the app's answer described a change that did not happen.
    const headers: Record<string, string> = {};
    if (error.cookies.length > 0) headers['set-cookie'] = error.cookies[0];
    return { status: error.status, headers, body: JSON.stringify(error.body) };
  }
  if (error instanceof SessionTooLargeException) {
    // A value grown in place past maxSessionBytes: nothing was written.
    return { status: 413, headers: {}, body: JSON.stringify(error.getResponse()) };
  }
  if (error instanceof SessionStoreUnavailableError) {
    return {
      status: 503,
      headers: { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) },
      body: JSON.stringify(new SessionStoreUnavailableException().getResponse()),
    };
  }
  return {
    status: 500,
    headers: {},
    body: JSON.stringify({ statusCode: 500, message: 'Internal server error' }),
  };
}
