/**
 * The descriptors server reflection serves, in the form generic clients (grpcurl, Postman, Python's
 * descriptor pool) accept: map fields' entry types are named `<Field>Entry` (as protoc names them)
 * with `map_entry` set, every type reference is fully qualified, and the health and reflection
 * services are described next to the runtime's own.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';

/** The parts of a `DescriptorProto` that are fixed here. */
interface MessageShape {
  name?: string;
  field?: Array<{ name?: string; type?: number | string; typeName?: string; label?: number | string }>;
  nestedType?: MessageShape[];
  enumType?: Array<{ name?: string }>;
  options?: { mapEntry?: boolean } | null;
}

interface FileShape {
  name?: string;
  package?: string;
  messageType?: MessageShape[];
  enumType?: Array<{ name?: string }>;
}

const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;

/** `payloads` → `PayloadsEntry`, `job_ids` → `JobIdsEntry` (protoc's rule). */
export function mapEntryName(field: string): string {
  return `${field
    .split('_')
    .filter((p) => p !== '')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('')}Entry`;
}

/** Fixes one message (and its nested messages) in place; `scope` is its full name without a leading dot. */
function fixMessage(message: MessageShape, scope: string, packageName: string): void {
  const nested = message.nestedType ?? [];
  const local = new Set([...nested.map((n) => n.name ?? ''), ...(message.enumType ?? []).map((e) => e.name ?? '')]);
  const renamed = new Map<string, string>();
  for (const field of message.field ?? []) {
    const entry = nested.find((n) => n.options?.mapEntry === true && n.name === field.typeName);
    if (entry && field.name) {
      const name = mapEntryName(field.name);
      renamed.set(entry.name!, name);
      entry.name = name;
    }
  }
  for (const field of message.field ?? []) {
    const isRef = field.type === TYPE_MESSAGE || field.type === TYPE_ENUM || field.type === 'TYPE_MESSAGE' || field.type === 'TYPE_ENUM';
    if (!isRef || !field.typeName || field.typeName.startsWith('.')) continue;
    const name = renamed.get(field.typeName) ?? field.typeName;
    field.typeName = local.has(field.typeName) ? `.${scope}.${name}` : `.${packageName ? `${packageName}.` : ''}${name}`;
  }
  for (const n of nested) fixMessage(n, `${scope}.${n.name ?? ''}`, packageName);
}

/** One serialized `FileDescriptorProto`, fixed. */
export function fixFileDescriptor(bytes: Uint8Array): Uint8Array {
  const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as FileShape;
  const pkg = file.package ?? '';
  for (const message of file.messageType ?? []) fixMessage(message, pkg ? `${pkg}.${message.name ?? ''}` : (message.name ?? ''), pkg);
  return descriptor.FileDescriptorProto.encode(file as unknown as Parameters<typeof descriptor.FileDescriptorProto.encode>[0]).finish();
}

const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** The package definitions of the standard health and reflection services, as installed. */
function standardDefinitions(): protoLoader.PackageDefinition {
  const require = createRequire(import.meta.url);
  const healthDir = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1');
  const reflectionDir = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
  return {
    ...protoLoader.loadSync(path.join(healthDir, 'health.proto'), LOADER_OPTIONS),
    ...protoLoader.loadSync(path.join(reflectionDir, 'grpc', 'reflection', 'v1', 'reflection.proto'), { ...LOADER_OPTIONS, includeDirs: [reflectionDir] }),
    ...protoLoader.loadSync(path.join(reflectionDir, 'grpc', 'reflection', 'v1alpha', 'reflection.proto'), { ...LOADER_OPTIONS, includeDirs: [reflectionDir] }),
  };
}

/**
 * The package definition to hand to `ReflectionService`: `contract` plus the health and
 * reflection services, with every file descriptor fixed (see the module comment).
 */
export function reflectionDefinition(contract: protoLoader.PackageDefinition): protoLoader.PackageDefinition {
  const all: protoLoader.PackageDefinition = { ...contract, ...standardDefinitions() };
  const fixed = new Map<Uint8Array | Buffer, Buffer>();
  const fix = (b: Buffer): Buffer => {
    let out = fixed.get(b);
    if (!out) fixed.set(b, (out = Buffer.from(fixFileDescriptor(b))));
    return out;
  };
  const out: protoLoader.PackageDefinition = {};
  for (const [name, value] of Object.entries(all)) {
    const files = (value as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    out[name] = Array.isArray(files) ? ({ ...value, fileDescriptorProtos: files.map(fix) } as typeof value) : value;
  }
  return out;
}
