import { Body, Controller, HttpCode, Post, UnauthorizedException, UseGuards } from '@nestjs/common';
import { SameOriginGuard, Session, SessionGuard } from '../lib/index.js';
import { LoginDto } from './login.dto.js';
import { UsersService } from './users.service.js';

@Controller('auth')
export class AuthController {
  constructor(private readonly users: UsersService) {}

  /**
   * Origin-checked: Nest parses urlencoded bodies too, so without the guard a
   * cross-site form could log the visitor into the attacker's account (login CSRF).
   */
  @Post('login')
  @HttpCode(200)
  @UseGuards(SameOriginGuard)
  async login(@Body() dto: LoginDto, @Session() session: Session) {
    const user = this.users.verify(dto.username, dto.password);
    if (!user) throw new UnauthorizedException('Invalid username or password');
    await session.logIn({ userId: user.id, roles: user.roles }); // new ID at commit
    return { userId: user.id, roles: user.roles };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Session() session: Session) {
    await session.destroy();
    return { ok: true };
  }

  /** A privilege change: the session ID is rotated at commit. */
  @Post('promote')
  @HttpCode(200)
  @UseGuards(SessionGuard)
  async promote(@Session() session: Session) {
    if (session.roles.includes('editor')) await session.regenerate();
    else session.setRoles([...session.roles, 'editor']);
    return { roles: session.roles };
  }
}
