/** A request object as both platforms give it to guards and decorators. */
export interface PlatformRequest {
  headers: Record<string, string | string[] | undefined>;
}
