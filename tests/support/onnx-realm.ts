/**
 * Test-only side-effect module. Jest runs each test file in a `vm` context whose typed-array
 * constructors differ from the main realm's ones that onnxruntime-node's native binding returns, so
 * onnxruntime-common rejects every output ("A float32 tensor's data must be type of function
 * Float32Array()", microsoft/onnxruntime#16622). Importing this module *before* onnxruntime-node (or
 * listing it in jest `setupFiles`) makes the sandbox use the main realm's constructors.
 * Outside a vm sandbox it changes nothing.
 */
import { runInThisContext } from 'node:vm';

const NAMES = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array',
  'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array',
] as const;

const g = globalThis as unknown as Record<string, unknown>;
for (const name of NAMES) {
  const outer = runInThisContext(name) as unknown;
  if (outer && g[name] !== outer) g[name] = outer;
}

export {};
