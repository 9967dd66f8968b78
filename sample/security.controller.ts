import {
  Body,
  Controller,
  Get,
  HttpCode,
  Post,
  UnauthorizedException,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { CsrfGuard, RequireSession, SameOriginGuard, Session, SessionGuard } from '../lib/index.js';
import { ReauthDto, TransferDto } from './security.dto.js';
import { UsersService } from './users.service.js';

/**
 * CSRF-protected and freshness-protected routes. A factory, because the
 * freshness window comes from the sample's config (SESSION_FRESH_WITHIN_MS)
 * and decorators are evaluated when the class is defined.
 */
export function createSecurityController(freshWithinMs: number): Type {
  @Controller()
  class SecurityController {
    constructor(private readonly users: UsersService) {}

    /** The session's CSRF token, for the `x-csrf-token` header. */
    @Get('csrf')
    csrf(@Session() session: Session) {
      return { token: session.csrfToken };
    }

    @Post('transfer')
    @HttpCode(200)
    @UseGuards(SessionGuard, CsrfGuard)
    transfer(@Body() dto: TransferDto) {
      return { ok: true, amount: dto.amount };
    }

    /**
     * Re-enter the password: refreshes the log-in time and rotates the ID.
     * Origin-checked like log-in: only the app's own pages may refresh it.
     */
    @Post('auth/reauth')
    @HttpCode(200)
    @UseGuards(SessionGuard, SameOriginGuard)
    async reauth(@Body() dto: ReauthDto, @Session() session: Session) {
      if (!this.users.verify(session.userId!, dto.password)) {
        throw new UnauthorizedException('Wrong password');
      }
      await session.reauthenticate();
      return { ok: true };
    }

    @Get('account/security')
    @RequireSession({ freshWithin: freshWithinMs })
    security(@Session() session: Session) {
      return { userId: session.userId, authenticatedAt: session.authenticatedAt };
    }
  }
  return SecurityController;
}
