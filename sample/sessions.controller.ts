import { Controller, Delete, Get, NotFoundException, Param, UseGuards } from '@nestjs/common';
import { Session, SessionGuard, SessionService } from '../lib/index.js';

/**
 * A user's own sessions: list them, revoke one, or log out everywhere. Each
 * entry has a `kind`: `cookie` (a cookie session) or `token` (a refresh-token
 * family from /tokens/login, whose `handle` is the family).
 */
@Controller('sessions')
@UseGuards(SessionGuard)
export class SessionsController {
  constructor(private readonly sessions: SessionService) {}

  @Get()
  async list(@Session() session: Session) {
    const entries = await this.sessions.listForUser(session.userId!);
    return entries.map((e) => ({
      handle: e.handle,
      createdAt: e.createdAt.toISOString(),
      lastSeenAt: e.lastSeenAt.toISOString(),
      current: e.handle === session.handle,
      kind: e.kind,
    }));
  }

  /** Log out everywhere, this session included: cookie sessions and token families alike. */
  @Delete()
  async revokeAll(@Session() session: Session) {
    const others = await this.sessions.revokeAllForUser(session.userId!, {
      except: session.handle,
    });
    await session.destroy();
    return { revoked: others + 1 };
  }

  @Delete(':handle')
  async revokeOne(@Param('handle') handle: string, @Session() session: Session) {
    if (!(await this.sessions.revoke(session.userId!, handle))) {
      throw new NotFoundException('No such session for this user');
    }
    return { revoked: 1 };
  }
}
