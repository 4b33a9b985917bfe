import type { MlpLayout } from '../model/layout.js';
import { atomicWrite } from './atomic-write.js';
import { encodeSafetensors } from './safetensors.js';

/**
 * Saves the parameter block as safetensors under PyTorch's nn.Sequential state_dict names
 * (`0.weight` [50, 784], `0.bias` [50], `2.weight` [10, 50], ...), float32, row-major, so that
 * `model.load_state_dict(safetensors.torch.load_file(path))` loads it as it is.
 */
export function saveWeights(path: string, layout: MlpLayout, params: Float32Array, metadata: Record<string, string> = {}): void {
  const tensors = layout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: params.subarray(t.offset, t.offset + t.length) }));
  atomicWrite(path, encodeSafetensors(tensors, { format: 'pt', ...metadata }));
}
