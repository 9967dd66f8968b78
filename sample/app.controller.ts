import { Controller, Get, UseGuards } from '@nestjs/common';
import { RequireSession, Session, SessionGuard } from '../lib/index.js';

interface SampleData {
  views: number;
}

@Controller()
export class AppController {
  /** Counts views in the session; the first write creates it. */
  @Get()
  home(@Session() session: Session<SampleData>) {
    const views = (session.get('views') ?? 0) + 1;
    session.set('views', views);
    return { views };
  }

  @Get('me')
  @UseGuards(SessionGuard)
  me(@Session() session: Session) {
    return { userId: session.userId, roles: session.roles };
  }

  @Get('admin')
  @RequireSession({ roles: ['admin'] })
  admin(@Session() session: Session) {
    return { admin: true, userId: session.userId };
  }

  /** Liveness: touches no session and no store. */
  @Get('health')
  health() {
    return { status: 'ok' };
  }
}
