import { IsOptional, IsString } from 'class-validator';

/** `POST /tokens/refresh` and `/tokens/logout`: the refresh token, or none (then the cookie's). */
export class RefreshTokenDto {
  /** A string if given; `null`, absent or `''` fall back to the refresh cookie. */
  @IsOptional()
  @IsString()
  refreshToken?: string | null;
}
