/**
 * The slice of the WebAssembly JS API the placement host uses. The project compiles against the
 * ES and Node libraries only (no DOM lib), which do not declare the `WebAssembly` namespace, so it
 * is typed here and read from `globalThis`.
 */

/** A compiled `WebAssembly.Module` (opaque; structured-cloneable to worker threads). */
export interface CompiledModule {
  readonly [Symbol.toStringTag]: string;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => CompiledModule;
  Instance: new (module: CompiledModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}

/** The runtime's WebAssembly API, or null when the runtime has none. */
export const wasmApi: WasmApi | null =
  (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly ?? null;

export function requireWasmApi(): WasmApi {
  if (wasmApi === null) throw new Error('WebAssembly is not available in this runtime');
  return wasmApi;
}
