import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  NotFoundException,
  Post,
  Req,
  Res,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import {
  AccessToken,
  AccessTokenGuard,
  SameOriginGuard,
  TokenService,
  TokenUnauthorizedException,
  type AccessTokenPrincipal,
  type PublicJwks,
  type TokenPair,
} from '../lib/index.js';
import { LoginDto } from './login.dto.js';
import { RefreshTokenDto } from './tokens.dto.js';
import { UsersService } from './users.service.js';

/** What both platforms' responses offer (Express `res.header`, Fastify `reply.header`). */
interface HeaderSink {
  header(name: string, value: string): unknown;
}

/**
 * Token sessions: a short-lived access token (a JWT for `Authorization:
 * Bearer`) and a single-use refresh token, in the body for API clients and
 * in an HttpOnly, SameSite=Strict cookie scoped to /tokens for browsers.
 */
@Controller('tokens')
export class TokensController {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokenService,
  ) {}

  /** Same users and body as /auth/login, origin-checked the same way (login CSRF). */
  @Post('login')
  @HttpCode(200)
  @UseGuards(SameOriginGuard)
  async login(
    @Body() dto: LoginDto,
    @Req() request: object,
    @Res({ passthrough: true }) res: HeaderSink,
  ) {
    const user = this.users.verify(dto.username, dto.password);
    if (!user) throw new UnauthorizedException('Invalid username or password');
    // The request: its client address and User-Agent go on the token events (and the logs).
    const pair = await this.tokens.logIn({ userId: user.id, roles: user.roles }, { request });
    return this.answer(res, pair);
  }

  /**
   * Redeems the refresh token (body first, else the cookie) for the next
   * pair. 401 `token_missing` without one; otherwise the library's reasons
   * (`token_invalid`, `token_expired`, `token_revoked`, `refresh_reused`).
   */
  @Post('refresh')
  @HttpCode(200)
  async refresh(
    // Typed as the class (the ValidationPipe reads it); undefined when there is no body at all.
    @Body() dto: RefreshTokenDto,
    @Headers('cookie') cookie: string | undefined,
    @Req() request: object,
    @Res({ passthrough: true }) res: HeaderSink,
  ) {
    const token = this.presented(dto, cookie);
    if (token === undefined) {
      throw new TokenUnauthorizedException(
        'token_missing',
        'A refresh token is required (refreshToken in the body, or the refresh cookie)',
      );
    }
    return this.answer(res, await this.tokens.refresh(token, { request }));
  }

  /** Ends the token's family and clears the cookie; 200 whatever was sent (idempotent). */
  @Post('logout')
  @HttpCode(200)
  async logout(
    // Typed as the class (the ValidationPipe reads it); undefined when there is no body at all.
    @Body() dto: RefreshTokenDto,
    @Headers('cookie') cookie: string | undefined,
    @Req() request: object,
    @Res({ passthrough: true }) res: HeaderSink,
  ) {
    const token = this.presented(dto, cookie);
    if (token !== undefined) await this.tokens.logOut(token, { request });
    res.header('Set-Cookie', this.tokens.clearedRefreshCookie());
    res.header('Cache-Control', 'no-store');
    return { ok: true };
  }

  @Get('me')
  @UseGuards(AccessTokenGuard)
  me(@AccessToken() principal: AccessTokenPrincipal) {
    return { userId: principal.userId, roles: principal.roles };
  }

  /** The body's token (a request without a body has no DTO at all), else the cookie's. */
  private presented(
    dto: RefreshTokenDto | undefined,
    cookie: string | undefined,
  ): string | undefined {
    const fromBody = dto?.refreshToken;
    if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
    return this.tokens.refreshTokenFromCookies(cookie);
  }

  /** The pair as the routes answer it (the family stays out of the body), plus its cookie. */
  private answer(res: HeaderSink, pair: TokenPair) {
    res.header('Set-Cookie', this.tokens.refreshCookie(pair.refreshToken));
    // RFC 6749 §5.1: token responses are never cached.
    res.header('Cache-Control', 'no-store');
    return {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expiresIn: pair.expiresIn,
    };
  }
}

/** The public keys that verify access tokens, for other services; only with TOKEN_ALG EdDSA/ES256. */
@Controller('.well-known')
export class JwksController {
  constructor(private readonly tokens: TokenService) {}

  @Get('jwks.json')
  jwks(): PublicJwks {
    try {
      return this.tokens.publicJwks();
    } catch {
      // HS256: the secret verifies and signs alike, so there is nothing to publish.
      throw new NotFoundException('No JWKS: access tokens are signed with a shared secret (HS256)');
    }
  }
}
