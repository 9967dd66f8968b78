import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** One request as the app's HTTP server saw it, recorded when its response finished. */
export interface LoggedRequest {
  method: string;
  /** Path and query. */
  url: string;
  status: number;
  /** The Cookie header the client sent (undefined: none). */
  cookie: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
  /** Set-Cookie values of the response. */
  setCookie: string[];
}

/**
 * Server-side truth about what reached an app: listens to the Node HTTP
 * server's `request` event (both Nest platforms run on one), beside the
 * app's own handler, and records each request once its response is done.
 */
export class RequestLog {
  readonly entries: LoggedRequest[] = [];
  private readonly listener = (req: IncomingMessage, res: ServerResponse) => {
    res.once('finish', () => {
      const header = res.getHeader('set-cookie');
      this.entries.push({
        method: req.method ?? '',
        url: req.url ?? '',
        status: res.statusCode,
        cookie: req.headers.cookie,
        origin: req.headers.origin,
        secFetchSite: single(req.headers['sec-fetch-site']),
        setCookie: header === undefined ? [] : Array.isArray(header) ? header : [String(header)],
      });
    });
  };

  constructor(private readonly server: Server) {
    server.on('request', this.listener);
  }

  /** Entries for a method and path (query ignored). */
  find(method: string, path: string): LoggedRequest[] {
    return this.entries.filter((e) => e.method === method && e.url.split('?')[0] === path);
  }

  /** Waits until `predicate` holds for some entry (polling); answers that entry. */
  async waitFor(
    what: string,
    predicate: (entry: LoggedRequest) => boolean,
    timeoutMs = 5000,
  ): Promise<LoggedRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.entries.find(predicate);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; server saw: ${JSON.stringify(this.entries.map((e) => `${e.method} ${e.url} ${e.status}`))}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  stop(): void {
    this.server.off('request', this.listener);
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
