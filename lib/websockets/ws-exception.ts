import type { WsException } from '@nestjs/websockets';

/** What a refused message's `exception` event carries: the reason, as the HTTP 401/403 bodies name it. */
export interface WsSessionRefusal {
  status: 'error';
  reason: string;
  message: string;
}

let websockets: Promise<typeof import('@nestjs/websockets')> | undefined;

/**
 * A `WsException` carrying `refusal`, so Nest's WebSocket exception filter
 * sends it to the client as the `exception` event's data. @nestjs/websockets
 * is an optional peer: imported here, on the first refusal, never by apps
 * that serve no gateway.
 */
export async function wsRefusal(reason: string, message: string): Promise<WsException> {
  websockets ??= import('@nestjs/websockets').catch((error: unknown) => {
    websockets = undefined;
    throw new Error(
      'WsSessionGuard needs @nestjs/websockets. Potential solution: npm install @nestjs/websockets',
      { cause: error },
    );
  });
  const { WsException } = await websockets;
  const refusal: WsSessionRefusal = { status: 'error', reason, message };
  return new WsException(refusal);
}
