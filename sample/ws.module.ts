import { Module } from '@nestjs/common';
import { SessionWebSocketModule } from '../lib/index.js';
import { SessionGateway } from './ws.gateway.js';

/**
 * The sample's WebSocket gateway at `/ws`, on @nestjs/platform-ws. Import it
 * in the app module (next to SessionModule.forRoot(), whose sessions it
 * reads) and give the app the ws adapter before `init()`/`listen()`:
 * `app.useWebSocketAdapter(new WsAdapter(app))`.
 */
@Module({
  imports: [SessionWebSocketModule.forRoot()],
  providers: [SessionGateway],
})
export class SampleWsModule {}
