import descriptor from 'protobufjs/ext/descriptor/index.js';
import { describe, expect, it } from 'vitest';
import { loadContract } from '../../../src/api/protos.js';
import { mapEntryName, reflectionDefinition } from '../../../src/api/reflection.js';

interface Msg { name: string; field?: Array<{ name: string; type: number; typeName?: string }>; nestedType?: Msg[]; options?: { mapEntry?: boolean } }

describe('reflection descriptors', () => {
  it('names map entries as protoc does', () => {
    expect(mapEntryName('payloads')).toBe('PayloadsEntry');
    expect(mapEntryName('job_ids')).toBe('JobIdsEntry');
  });

  it('serves map entry types named <Field>Entry with map_entry set, every reference fully qualified, health and reflection included', () => {
    const def = reflectionDefinition(loadContract().definition);
    const files = new Map<string, { package: string; messageType: Msg[] }>();
    for (const value of Object.values(def)) {
      for (const b of (value as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
        const f = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(b)) as unknown as { name: string; package: string; messageType: Msg[] };
        files.set(f.name, f);
      }
    }
    expect([...files.values()].map((f) => f.package)).toEqual(expect.arrayContaining(['mirrorneuron.job.v1', 'mirrorneuron.cluster.v1', 'mirrorneuron.observability.v1', 'grpc.health.v1', 'grpc.reflection.v1', 'grpc.reflection.v1alpha']));
    const job = [...files.values()].find((f) => f.package === 'mirrorneuron.job.v1')!;
    const submit = job.messageType.find((m) => m.name === 'SubmitJobRequest')!;
    expect(submit.nestedType).toEqual([expect.objectContaining({ name: 'PayloadsEntry', options: { mapEntry: true } })]);
    expect(submit.field!.find((f) => f.name === 'payloads')!.typeName).toBe('.mirrorneuron.job.v1.SubmitJobRequest.PayloadsEntry');
    const refs: string[] = [];
    const walk = (m: Msg): void => {
      for (const f of m.field ?? []) if (f.typeName !== undefined) refs.push(f.typeName);
      (m.nestedType ?? []).forEach(walk);
    };
    for (const f of files.values()) f.messageType.forEach(walk);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((r) => !r.startsWith('.'))).toEqual([]);
  });
});
