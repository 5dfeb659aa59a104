import type Sharp from 'sharp';

let loading: Promise<typeof Sharp> | undefined;

/**
 * sharp (libvips, about 30 MB resident) is loaded on the gateway's first image,
 * not at start: most gateways never decode one (OCR decodes in the workers).
 */
export function loadSharp(): Promise<typeof Sharp> {
  loading ??= import('sharp').then((module) => module.default);
  return loading;
}
