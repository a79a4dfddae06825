/** The limit: a bare grpc-js service whose one unary method returns its request bytes. */
import * as grpc from '@grpc/grpc-js';

export const ECHO_PATH = '/bench.Echo/Echo';

/**
 * The transport settings huodong's server and @huodong/clients use (channelz off), so the limit
 * is measured with the same grpc-js the scenarios run on, not with extra per-call bookkeeping.
 */
export const ECHO_CHANNEL_OPTIONS = { 'grpc.enable_channelz': 0 } as const;
const identity = (b: Buffer): Buffer => b;

export const echoDefinition: grpc.ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

