/**
 * gRPC server reflection (v1 and v1alpha) over the schema `buf build` compiled at generate time,
 * so grpcurl and buf curl see exactly the descriptors the code was generated from.
 */
import * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { descriptorSetBase64 } from '../gen/descriptors.js';
import { grpcMethod } from './rpc.js';
import {
  ServerReflectionDefinition,
  ServerReflectionRequest,
  ServerReflectionResponse,
} from '../gen/grpc/reflection/v1/reflection.js';

interface Schema {
  readonly files: ReadonlyMap<string, FileDescriptorProto>;
  /** Fully-qualified symbol (message, enum, service, method) -> file name. */
  readonly symbols: ReadonlyMap<string, string>;
}

function loadSchema(): Schema {
  const set = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64'));
  const files = new Map<string, FileDescriptorProto>();
  const symbols = new Map<string, string>();
  const addMessages = (prefix: string, messages: readonly DescriptorProto[], file: string): void => {
    for (const m of messages) {
      const name = `${prefix}${m.name}`;
      symbols.set(name, file);
      for (const e of m.enumType) symbols.set(`${name}.${e.name}`, file);
      addMessages(`${name}.`, m.nestedType, file);
    }
  };
  for (const file of set.file) {
    files.set(file.name, file);
    const prefix = file.package === '' ? '' : `${file.package}.`;
    addMessages(prefix, file.messageType, file.name);
    for (const e of file.enumType) symbols.set(`${prefix}${e.name}`, file.name);
    for (const s of file.service) {
      symbols.set(`${prefix}${s.name}`, file.name);
      for (const m of s.method) symbols.set(`${prefix}${s.name}.${m.name}`, file.name);
    }
  }
  return { files, symbols };
}

/** The file and everything it imports, dependencies first, each once. */
function withDependencies(schema: Schema, name: string): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  const visit = (fileName: string): void => {
    if (seen.has(fileName)) return;
    seen.add(fileName);
    const file = schema.files.get(fileName);
    if (file === undefined) return;
    for (const dep of file.dependency) visit(dep);
    out.push(Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  };
  visit(name);
  return out;
}

function answer(schema: Schema, services: readonly string[], request: ServerReflectionRequest): ServerReflectionResponse {
  const base = { validHost: request.host, originalRequest: request };
  const notFound = (message: string): ServerReflectionResponse => ({
    ...base,
    messageResponse: { $case: 'errorResponse', value: { errorCode: grpc.status.NOT_FOUND, errorMessage: message } },
  });
  const files = (name: string | undefined, what: string): ServerReflectionResponse =>
    name === undefined || !schema.files.has(name)
      ? notFound(`${what} not found`)
      : {
          ...base,
          messageResponse: {
            $case: 'fileDescriptorResponse',
            value: { fileDescriptorProto: withDependencies(schema, name) },
          },
        };
  const req = request.messageRequest;
  switch (req?.$case) {
    case 'listServices':
      return {
        ...base,
        messageResponse: { $case: 'listServicesResponse', value: { service: services.map((name) => ({ name })) } },
      };
    case 'fileByFilename':
      return files(req.value, `file ${req.value}`);
    case 'fileContainingSymbol':
      return files(schema.symbols.get(req.value), `symbol ${req.value}`);
    default:
      return notFound('extensions are not used by this server');
  }
}

/** Adds grpc.reflection.v1 and v1alpha, answering for the given service names. */
export function addReflection(server: grpc.Server, services: readonly string[]): void {
  const schema = loadSchema();
  const handler: grpc.handleBidiStreamingCall<ServerReflectionRequest, ServerReflectionResponse> = (call) => {
    call.on('data', (request: ServerReflectionRequest) => call.write(answer(schema, services, request)));
    call.on('end', () => call.end());
    call.on('error', () => call.end());
  };
  const method = ServerReflectionDefinition.methods.serverReflectionInfo;
  for (const pkg of ['grpc.reflection.v1', 'grpc.reflection.v1alpha']) {
    const definition: grpc.ServiceDefinition = {
      serverReflectionInfo: grpcMethod(`/${pkg}.ServerReflection/ServerReflectionInfo`, method, { request: true, response: true }),
    };
    server.addService(definition, { serverReflectionInfo: handler });
  }
}
