import { SessionStoreUnavailableError } from '../stores/store-outage.js';
import {
  SessionStoreUnavailableException,
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
 * is replaced: 503 + Retry-After for a store outage, 500 otherwise (e.g. a
 * value that stopped being JSON-serializable).
 */
export function commitFailureResponse(error: unknown): CommitFailureResponse {
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
