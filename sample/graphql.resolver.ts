import { UseGuards } from '@nestjs/common';
import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';
import { SameOriginGuard, Session, SessionGuard } from '../lib/index.js';
import { GraphQLUser } from './graphql.user.model.js';
import { UsersService } from './users.service.js';

/**
 * The sample's log-in, log-out and `me` over GraphQL, the same session as
 * the REST routes: a cookie from `POST /auth/login` works for `me` here, and
 * the other way round.
 *
 * `login` has the REST route's login-CSRF defence, `SameOriginGuard`: a
 * cross-site HTML form cannot post JSON, and both servers refuse the other
 * bodies a form can send (Apollo's `csrfPrevention`, Mercurius's content
 * types), but the guard does not depend on each server's rules (a
 * cross-site log-in is `FORBIDDEN`, `reason: "csrf"`).
 */
@Resolver(() => GraphQLUser)
export class GraphQLAuthResolver {
  constructor(private readonly users: UsersService) {}

  /** `null` with an `UNAUTHENTICATED` error (its `extensions.reason` says why) without a session. */
  @Query(() => GraphQLUser, { nullable: true })
  @UseGuards(SessionGuard)
  me(@Session() session: Session): GraphQLUser {
    return { userId: String(session.userId), roles: [...session.roles] };
  }

  @Mutation(() => GraphQLUser)
  @UseGuards(SameOriginGuard)
  async login(
    @Args('username') username: string,
    @Args('password') password: string,
    @Session() session: Session,
  ): Promise<GraphQLUser> {
    const user = this.users.verify(username, password);
    if (!user) {
      throw new GraphQLError('Invalid username or password', {
        extensions: { code: 'UNAUTHENTICATED', reason: 'bad_credentials' },
      });
    }
    await session.logIn({ userId: user.id, roles: user.roles }); // new ID at commit
    return { userId: user.id, roles: user.roles };
  }

  /** Ends the session and clears the cookie; true even without a session (nothing to end). */
  @Mutation(() => Boolean)
  async logout(@Session() session: Session): Promise<boolean> {
    await session.destroy();
    return true;
  }
}
