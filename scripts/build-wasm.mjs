// Builds the WebAssembly SIMD kernel from its AssemblyScript source (src/kernels/wasm/assembly/)
// into dist/kernels/wasm/: kernel.wasm (SIMD128) and kernel-relaxed.wasm (also relaxed-SIMD FMA),
// as src/kernels/wasm/asconfig.json says. Then checks each binary is safe to instantiate once per
// thread on the shared arena memory: it imports exactly env.memory and has no data segment and no
// start function (either would write into the shared memory on every instantiation).
// Skips the compile when both binaries are newer than every source file.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// Node 20 validates relaxed SIMD only behind this flag (on by default from Node 22)
if (Number(process.versions.node.split('.')[0]) < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src/kernels/wasm');
const config = join(srcDir, 'asconfig.json');
const outDir = join(root, 'dist/kernels/wasm');
const targets = { simd: 'kernel.wasm', relaxed: 'kernel-relaxed.wasm' };

const sources = [config, fileURLToPath(import.meta.url), ...readdirSync(join(srcDir, 'assembly')).map((f) => join(srcDir, 'assembly', f))];
const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
const mtime = (f) => {
  try {
    return statSync(f).mtimeMs;
  } catch {
    return -Infinity;
  }
};
const upToDate = Object.values(targets).every((f) => mtime(join(outDir, f)) > newestSource);

if (!upToDate) {
  const { default: asc } = await import('assemblyscript/asc'); // loads binaryen: only when compiling
  for (const target of Object.keys(targets)) {
    const { error, stderr } = await asc.main(['--config', config, '--target', target], { stdout: process.stdout });
    if (error) {
      process.stderr.write(stderr.toString());
      throw new Error(`asc failed for target ${target}: ${error.message}`);
    }
  }
}
for (const file of Object.values(targets)) checkBinary(join(outDir, file));
console.log(`wasm kernel ${upToDate ? 'up to date' : 'built'}: ${Object.values(targets).map((f) => join('dist/kernels/wasm', f)).join(', ')}`);

/** Throws unless the module imports only env.memory and has no data segments or start function. */
function checkBinary(path) {
  const bytes = readFileSync(path);
  const mod = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`);
  if (imports.join() !== 'env.memory:memory') throw new Error(`${path}: unexpected imports ${imports.join(', ')}`);
  // sections: id byte, LEB128 size, body; 8 = start, 11 = data (its body starts with the segment count)
  let p = 8;
  const leb = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    const end = p + size;
    if (id === 8) throw new Error(`${path}: has a start function`);
    if (id === 11 && leb() !== 0) throw new Error(`${path}: has data segments, which would overwrite the shared memory`);
    p = end;
  }
}
