import { Controller, Get, Header } from '@nestjs/common';
import { APP_PAGE_HTML } from './app-page.html.js';

/**
 * GET /app: a small HTML page that drives the JSON routes from a browser
 * (log in, /me, a CSRF-protected transfer, log out). It touches no session
 * itself. Its script and styles are inline, so the policy allows inline
 * code and nothing from any other origin.
 */
@Controller('app')
export class AppPageController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  )
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  page(): string {
    return APP_PAGE_HTML;
  }
}
