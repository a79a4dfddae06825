/** The limit: a bare grpc-js service whose one unary method returns its request bytes. */
import * as grpc from '@grpc/grpc-js';

export const ECHO_PATH = '/bench.Echo/Echo';
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

