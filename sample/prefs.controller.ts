import { BadRequestException, Body, Controller, Get, Param, Put, UseGuards } from '@nestjs/common';
import { Session, SessionGuard } from '../lib/index.js';
import { PrefDto } from './pref.dto.js';

const PREFIX = 'pref:';
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Each preference is its own top-level session key, so concurrent writes of different names both land. */
@Controller('prefs')
@UseGuards(SessionGuard)
export class PrefsController {
  @Put(':name')
  put(@Param('name') name: string, @Body() dto: PrefDto, @Session() session: Session) {
    if (!NAME.test(name)) {
      throw new BadRequestException('name must be 1-64 characters of A-Z, a-z, 0-9, _ . -');
    }
    session.set(PREFIX + name, dto.value);
    return { [name]: dto.value };
  }

  @Get()
  list(@Session() session: Session) {
    // A null-prototype object: a preference named "__proto__" stays a plain key.
    const prefs: Record<string, unknown> = Object.create(null);
    for (const key of session.keys()) {
      if (key.startsWith(PREFIX)) prefs[key.slice(PREFIX.length)] = session.get(key);
    }
    return prefs;
  }
}
