import { Module, UseGuards, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import {
  Args,
  Field,
  GraphQLModule,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
} from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import {
  AccessToken,
  AccessTokenGuard,
  CsrfGuard,
  getSession,
  SameOriginGuard,
  RequireSession,
  RotateSession,
  Session,
  SessionGuard,
  SessionModule,
  type AccessTokenPrincipal,
  type SessionModuleOptions,
  type SessionStore,
} from '../../lib/index.js';
import type { Platform } from '../support/sample-app.harness.js';

/** A GraphQL server under test: the driver, and the HTTP platform it runs on. */
export interface GraphQLSetup {
  name: string;
  driver: 'apollo' | 'mercurius';
  platform: Platform;
}

export const GRAPHQL_SETUPS: GraphQLSetup[] = [
  { name: 'Apollo on Express', driver: 'apollo', platform: 'express' },
  { name: 'Apollo on Fastify', driver: 'apollo', platform: 'fastify' },
  { name: 'Mercurius on Fastify', driver: 'mercurius', platform: 'fastify' },
];

export const GRAPHQL_SECRET = 'graphql-spec-secret-0123456789-abcdefghij';
/** Signs the access tokens `tokenMe` accepts (TokenService of the test app). */
export const GRAPHQL_TOKEN_SECRET = 'graphql-spec-token-secret-0123456789-abcdef';

@ObjectType()
class Me {
  @Field()
  userId!: string;

  @Field(() => [String])
  roles!: string[];
}

/** A custom decorator on `getSession()`, as the README shows it: null without a log-in. */
const CurrentUser = createParamDecorator(
  async (_data: unknown, context: ExecutionContext) =>
    (await getSession(context)).userId?.toString() ?? null,
);

const meOf = (session: Session): Me => ({
  userId: String(session.userId),
  roles: [...session.roles],
});

/** Every session feature a resolver can use, one field each. */
@Resolver()
class SessionResolver {
  @Query(() => Me, { nullable: true })
  @UseGuards(SessionGuard)
  me(@Session() session: Session): Me {
    return meOf(session);
  }

  @Query(() => String, { nullable: true })
  @RequireSession({ roles: ['admin'] })
  adminReport(): string {
    return 'for admins';
  }

  @Query(() => String, { nullable: true })
  whoami(@CurrentUser() userId: string | null): string | null {
    return userId;
  }

  @Query(() => String)
  csrfToken(@Session() session: Session): string {
    return session.csrfToken;
  }

  /** Writes to an anonymous session: the pre-login session a log-in must replace. */
  @Mutation(() => Boolean)
  visit(@Session() session: Session): boolean {
    session.set('visited', true);
    return true;
  }

  @Mutation(() => Me)
  async login(
    @Args('username') username: string,
    @Args('password') _password: string,
    @Session() session: Session,
  ): Promise<Me> {
    const roles = username === 'admin' ? ['user', 'admin'] : ['user'];
    await session.logIn({ userId: username, roles });
    return meOf(session);
  }

  @Mutation(() => Boolean)
  async logout(@Session() session: Session): Promise<boolean> {
    await session.destroy();
    return true;
  }

  @Mutation(() => Boolean)
  @UseGuards(SessionGuard)
  @RotateSession()
  rotate(): boolean {
    return true;
  }

  /** Fails after its guard passed: the answer is still HTTP 200, with the error in the body. */
  @Mutation(() => Boolean, { nullable: true })
  @UseGuards(SessionGuard)
  @RotateSession()
  rotateThenFail(): boolean {
    throw new Error('the resolver failed');
  }

  @Mutation(() => Int, { nullable: true })
  @UseGuards(SessionGuard, CsrfGuard)
  transfer(@Args('amount', { type: () => Int }) amount: number): number {
    return amount;
  }

  /** Origin checks only, as on a log-in route (login CSRF): no session needed. */
  @Mutation(() => Boolean, { nullable: true })
  @UseGuards(SameOriginGuard)
  sameOriginOnly(): boolean {
    return true;
  }

  /** A bearer-token query: the principal `AccessTokenGuard` verified. */
  @Query(() => Me, { nullable: true })
  @UseGuards(AccessTokenGuard)
  tokenMe(@AccessToken() principal: AccessTokenPrincipal): Me {
    return { userId: principal.userId, roles: [...principal.roles] };
  }

  @Mutation(() => Boolean)
  @UseGuards(SessionGuard)
  remember(@Args('note') note: string, @Session() session: Session): boolean {
    session.set('note', note);
    return true;
  }
}

/** The GraphQL module of a setup, in the context shape this library supports for it. */
export function graphqlModuleFor(setup: GraphQLSetup, apollo: Partial<ApolloDriverConfig> = {}) {
  if (setup.driver === 'mercurius') {
    // Mercurius puts the Fastify `reply` in every context by itself.
    return GraphQLModule.forRoot<MercuriusDriverConfig>({
      driver: MercuriusDriver,
      autoSchemaFile: true,
    });
  }
  return GraphQLModule.forRoot<ApolloDriverConfig>({
    driver: ApolloDriver,
    autoSchemaFile: true,
    // Apollo on Express needs nothing (its default `{ req }` leads to `req.res`);
    // on Fastify the reply must be passed, Apollo's default context has only the request.
    ...(setup.platform === 'fastify'
      ? { context: (request: unknown, reply: unknown) => ({ req: request, reply }) }
      : {}),
    ...apollo,
  });
}

/** The test app of a setup on `store`; `options` override SessionModule's (e.g. `bruteForce`). */
export function graphqlTestModule(
  setup: GraphQLSetup,
  store: SessionStore,
  graphql = graphqlModuleFor(setup),
  options: Partial<SessionModuleOptions> = {},
) {
  @Module({
    imports: [
      SessionModule.forRoot({
        secret: GRAPHQL_SECRET,
        store,
        expirySweep: false,
        tokens: { secret: GRAPHQL_TOKEN_SECRET, issuer: 'graphql-spec', audience: 'graphql-spec' },
        ...options,
      }),
      graphql,
    ],
    providers: [SessionResolver],
  })
  class GraphQLTestModule {}
  return GraphQLTestModule;
}
