import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';

export interface DemoUser {
  id: string;
  roles: string[];
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The sample's two demo users. A real app would check a password hash (argon2, scrypt). */
const USERS: Record<string, { password: Buffer; roles: string[] }> = {
  alice: { password: digest('alice-password'), roles: ['user'] },
  admin: { password: digest('admin-password'), roles: ['user', 'admin'] },
};

@Injectable()
export class UsersService {
  /** The user for these credentials, or `undefined`; compares in constant time. */
  verify(username: string, password: string): DemoUser | undefined {
    const user = Object.hasOwn(USERS, username) ? USERS[username] : undefined;
    const matches = timingSafeEqual(digest(password), user?.password ?? digest(''));
    return user && matches ? { id: username, roles: [...user.roles] } : undefined;
  }
}
