import sharp, { type Metadata } from 'sharp';
import { InvalidInputError } from '../input-error.js';

/** PP-OCR detection needs width and height to be multiples of 32. */
const BLOCK = 32;
/** sharp's own decompression-bomb guard (0x3FFF²), checked up front for a clearer message. */
const MAX_INPUT_PIXELS = 0x3fff * 0x3fff;

/** An upright, opaque, 8-bit sRGB PNG the OCR engine can read as is, plus how to map its pixels back. */
export interface PreparedImage {
  /** Encoded PNG: white-flattened, downscaled to fit maxSide, padded right/bottom with white to multiples of 32. */
  png: Buffer;
  /** Size of the upright (EXIF-rotated) input image: output boxes are in this space. */
  width: number;
  height: number;
  /** Input pixels per prepared pixel (1 unless the image was downscaled). */
  scaleX: number;
  scaleY: number;
}

// A bad or oversized image is the client's input: a 400, not a worker failure.
const notAnImage = (detail: string) => new InvalidInputError(`not an image: ${detail}`);
/** libvips messages can span lines ("vipspng: libpng read error\nvips2png: ..."): keep the first. */
const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0]!.trim();

/**
 * Decodes any format sharp reads (PNG, JPEG, WebP, GIF, TIFF, AVIF, SVG...) and normalizes it
 * for PaddleOCR: EXIF orientation applied, transparency flattened onto white (black text on a
 * transparent background would otherwise vanish), greyscale/CMYK/16-bit converted to 8-bit RGB,
 * the longest side reduced to `maxSide`, then padded with white so no resize (and no aspect
 * change or black letterboxing, which the library's own resize would add) happens downstream.
 */
export async function prepareImage(bytes: Uint8Array, maxSide: number): Promise<PreparedImage> {
  if (bytes.byteLength === 0) throw notAnImage('the input is empty');
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let meta: Metadata;
  try {
    meta = await sharp(input).metadata();
  } catch (err) {
    throw notAnImage(`${firstLine(err)} (${bytes.byteLength} bytes; expected PNG, JPEG, WebP, GIF, TIFF, AVIF or SVG)`);
  }
  const rawW = meta.width;
  const rawH = meta.height;
  if (!rawW || !rawH) throw notAnImage(`could not read the dimensions of the ${meta.format ?? 'unknown'} image`);
  if (rawW * rawH > MAX_INPUT_PIXELS) {
    throw new InvalidInputError(`image too large: ${rawW}x${rawH} exceeds ${MAX_INPUT_PIXELS} pixels`);
  }
  const width = meta.autoOrient?.width ?? rawW;
  const height = meta.autoOrient?.height ?? rawH;

  const scale = Math.min(1, maxSide / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const padW = Math.max(BLOCK, Math.ceil(w / BLOCK) * BLOCK);
  const padH = Math.max(BLOCK, Math.ceil(h / BLOCK) * BLOCK);

  let png: Buffer;
  try {
    let pipeline = sharp(input).autoOrient().flatten({ background: '#ffffff' });
    if (w !== width || h !== height) pipeline = pipeline.resize(w, h, { fit: 'fill', kernel: 'lanczos3' });
    png = await pipeline
      .extend({ right: padW - w, bottom: padH - h, background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      // Read back once by the engine: favour speed over size.
      .png({ compressionLevel: 1, adaptiveFiltering: false })
      .toBuffer();
  } catch (err) {
    throw notAnImage(`the ${meta.format ?? 'image'} data could not be decoded: ${firstLine(err)}`);
  }
  return { png, width, height, scaleX: width / w, scaleY: height / h };
}
