import { Field, ObjectType } from '@nestjs/graphql';

/** The logged-in user as the GraphQL API shows it (the REST `/me` body). */
@ObjectType('User')
export class GraphQLUser {
  @Field()
  userId!: string;

  @Field(() => [String])
  roles!: string[];
}
