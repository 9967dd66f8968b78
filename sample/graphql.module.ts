import { Module, type DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { GraphQLAuthResolver } from './graphql.resolver.js';
import { UsersService } from './users.service.js';

/**
 * `POST /graphql` for the sample: `query { me { userId roles } }`,
 * `mutation { login(username, password) { userId roles } }` and
 * `mutation { logout }`, on the session of the app's SessionModule.
 *
 * Apollo on Express, Mercurius on Fastify, each in the context shape the
 * session manager reads (Apollo's default `{ req }` on Express, Mercurius's
 * default `{ reply }`). The drivers are imported when the module is built,
 * so an app that never mounts GraphQL never loads them.
 */
@Module({})
export class GraphQLSampleModule {
  static async forPlatform(platform: 'express' | 'fastify'): Promise<DynamicModule> {
    return {
      module: GraphQLSampleModule,
      imports: [await graphqlServerFor(platform)],
      providers: [GraphQLAuthResolver, UsersService],
    };
  }
}

async function graphqlServerFor(platform: 'express' | 'fastify'): Promise<DynamicModule> {
  if (platform === 'fastify') {
    const { MercuriusDriver } = await import('@nestjs/mercurius');
    return GraphQLModule.forRoot({
      driver: MercuriusDriver,
      autoSchemaFile: true,
      path: '/graphql',
    });
  }
  const { ApolloDriver } = await import('@nestjs/apollo');
  return GraphQLModule.forRoot({ driver: ApolloDriver, autoSchemaFile: true, path: '/graphql' });
}
