/** Entry point of the echo limit server: `tsx bench/echo-server.ts PORT`. */
import * as grpc from '@grpc/grpc-js';
import { ECHO_CHANNEL_OPTIONS, echoDefinition } from './echo.js';

const port = Number(process.argv[2]);
const server = new grpc.Server(ECHO_CHANNEL_OPTIONS);
server.addService(echoDefinition, {
  echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
