import { CorralError } from '../errors/index.js';
import type { Tensor, TensorSpec } from '../runtimes/tensor.js';
import { loadSharp } from './load-sharp.js';

/** Side used when the model leaves height/width free. */
const DEFAULT_SIDE = 224;

/**
 * Decodes an image (JPEG, PNG, WebP, ...) and lays it out as the model's image
 * input wants: resized to its height and width, RGB, NCHW or NHWC, float
 * scaled to [0,1] (or raw bytes for UINT8 inputs). A batch of one.
 */
export async function imageToTensor(image: Buffer, spec: TensorSpec): Promise<Tensor> {
  const [, a, b, c] = spec.shape;
  const channelsFirst = spec.shape.length === 4 && (a === 3 || a === 1) && c !== 3 && c !== 1;
  const channelsLast = spec.shape.length === 4 && !channelsFirst && (c === 3 || c === 1);
  if (!channelsFirst && !channelsLast) {
    throw new CorralError('INVALID_INPUT', `Input '${spec.name}' with shape [${spec.shape.join(',')}] is not an image input ([N,C,H,W] or [N,H,W,C] with 1 or 3 channels); send JSON "values" instead.`);
  }
  if (!['FP32', 'FP64', 'UINT8'].includes(spec.datatype)) {
    throw new CorralError('INVALID_INPUT', `Image input '${spec.name}' is ${spec.datatype}; only FP32, FP64 and UINT8 image inputs are supported.`);
  }
  const channels = (channelsFirst ? a : c) as 1 | 3;
  const height = (channelsFirst ? b : a)! > 0 ? (channelsFirst ? b : a)! : DEFAULT_SIDE;
  const width = (channelsFirst ? c : b)! > 0 ? (channelsFirst ? c : b)! : DEFAULT_SIDE;

  const sharp = await loadSharp();
  let pixels: Buffer;
  try {
    let pipeline = sharp(image, { failOn: 'error' }).removeAlpha().resize(width, height, { fit: 'fill' });
    pipeline = channels === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
    pixels = await pipeline.raw().toBuffer();
  } catch (err) {
    throw new CorralError('INVALID_IMAGE', `The file is not an image that can be decoded: ${(err as Error).message}`);
  }
  const plane = height * width;
  const shape = channelsFirst ? [1, channels, height, width] : [1, height, width, channels];
  if (spec.datatype === 'UINT8' && channelsLast) return { datatype: 'UINT8', shape, data: new Uint8Array(pixels) };
  const data = spec.datatype === 'FP64' ? new Float64Array(plane * channels) : spec.datatype === 'UINT8' ? new Uint8Array(plane * channels) : new Float32Array(plane * channels);
  const scale = spec.datatype === 'UINT8' ? 1 : 1 / 255;
  for (let p = 0; p < plane; p++) {
    for (let ch = 0; ch < channels; ch++) {
      const value = pixels[p * channels + ch]! * scale;
      data[channelsFirst ? ch * plane + p : p * channels + ch] = value;
    }
  }
  return { datatype: spec.datatype, shape, data };
}
