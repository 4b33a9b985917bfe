import { crc32, deflateSync } from 'node:zlib';
import type { WrongPrediction } from './confusion.js';
import { escapeXml } from './svg-plot.js';

/**
 * A grid of images with captions as one standalone SVG, as the lesson's show_images draws them:
 * the model's most confidently wrong predictions ("true 3 / pred 5 (97%)"), or the rows that cost
 * the most ("true 3 / pred 5" over "loss 7.21"). Each image is an embedded PNG data URI (a 28x28
 * digit is ~400 bytes deflated), drawn scaled up with pixelated rendering so the pixels stay
 * sharp; a <title> per image names its row (a tooltip).
 */

/** One image of a gallery: a row of the split, its caption lines and its tooltip. */
export interface GalleryCell {
  row: number;
  caption: string[];
  tip: string;
}

export interface GalleryInput {
  /** the split's pixels [n, side * side], row-major; values in [0, 1] for MNIST */
  x: Float32Array;
  /** pixels per image: side * side */
  nIn: number;
  heading: string;
  /** the images, in order */
  cells: readonly GalleryCell[];
  /** the class each image's group carries, for whoever reads the SVG back */
  cellClass: string;
}

export interface ErrorGalleryInput {
  x: Float32Array;
  nIn: number;
  /** the rows to draw, in order */
  picks: readonly WrongPrediction[];
  /** what the rows are, for the heading and tooltips: "valid split" */
  splitName: string;
  /** how many rows the model got wrong in all (the picks are the first of them) */
  wrongCount: number;
  /** rows in the split */
  total: number;
}

const SCALE = 3; // 28 px -> 84 px on screen
const LINE = 14; // a caption line
const CAPTION_PAD = 4;
const GAP = 10;
const HEAD = 40;

/** The side of a square image of nIn pixels, or null if nIn is not a square. */
export function imageSide(nIn: number): number | null {
  const s = Math.round(Math.sqrt(nIn));
  return s > 0 && s * s === nIn ? s : null;
}

/** The most confidently wrong predictions, captioned "true 3 / pred 5 (97%)". */
export function errorGallerySvg(g: ErrorGalleryInput): string {
  const total = `${g.total.toLocaleString('en-US')} rows (${g.splitName})`;
  const heading = g.wrongCount === 0 ? `No mistakes in ${total}` : `The ${g.picks.length} most confidently wrong of ${g.wrongCount.toLocaleString('en-US')} mistakes in ${total}`;
  const cells = g.picks.map((p) => ({
    row: p.row,
    caption: [`true ${p.label} / pred ${p.predicted} (${confidenceText(p.confidence)})`],
    tip: `${g.splitName} row ${p.row}: true ${p.label}, predicted ${p.predicted} with probability ${p.confidence.toFixed(6)}`,
  }));
  return gallerySvg({ x: g.x, nIn: g.nIn, heading, cells, cellClass: 'wrong' });
}

export function gallerySvg(g: GalleryInput): string {
  const side = imageSide(g.nIn);
  if (side === null) throw new RangeError(`${g.nIn} pixels are not a square image`);
  const cols = Math.max(1, Math.ceil(Math.sqrt(g.cells.length)));
  const rows = Math.ceil(g.cells.length / cols);
  const lines = Math.max(1, ...g.cells.map((c) => c.caption.length));
  const caption = lines * LINE + CAPTION_PAD;
  const cell = side * SCALE;
  const cellW = Math.max(cell, 130); // room for the caption
  const W = Math.max(GAP + cols * (cellW + GAP), 640); // wide enough for the heading
  const H = HEAD + rows * (cell + caption + GAP) + GAP;
  const toGrey = greyMapping(g.x);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${GAP}" y="24" font-size="14" font-weight="bold">${escapeXml(g.heading)}</text>`,
  ];
  g.cells.forEach((c, i) => {
    const x = GAP + (i % cols) * (cellW + GAP);
    const y = HEAD + Math.floor(i / cols) * (cell + caption + GAP);
    const pixels = toGrey(g.x.subarray(c.row * g.nIn, (c.row + 1) * g.nIn));
    const uri = `data:image/png;base64,${Buffer.from(encodeGreyPng(pixels, side, side)).toString('base64')}`;
    const text = c.caption.map((t, k) => `<text x="${cellW / 2}" y="${cell + LINE * (k + 1)}" text-anchor="middle">${escapeXml(t)}</text>`).join('');
    out.push(
      `<g class="${escapeXml(g.cellClass)}" transform="translate(${x} ${y})"><title>${escapeXml(c.tip)}</title>` +
        `<image x="${(cellW - cell) / 2}" y="0" width="${cell}" height="${cell}" style="image-rendering:pixelated" preserveAspectRatio="none" href="${uri}"/>` +
        `<rect x="${(cellW - cell) / 2}" y="0" width="${cell}" height="${cell}" fill="none" stroke="#ccc"/>` +
        text +
        '</g>',
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * "97%"; above 99%, one decimal, floored, so that a 99.96% mistake reads "99.9%" rather than a
 * "100%" the model was not.
 */
export function confidenceText(p: number): string {
  if (!Number.isFinite(p)) return '?%';
  if (p >= 1) return '100%';
  return p >= 0.99 ? `${(Math.floor(p * 1000) / 10).toFixed(1)}%` : `${Math.round(p * 100)}%`;
}

/**
 * How pixel values become grey levels, dark ink on white paper (0 -> white). Data in [0, 1] (MNIST's
 * k/255) maps as it is, so a faint digit stays faint; other data is stretched per image from its own
 * min to max, as matplotlib's imshow does.
 */
function greyMapping(x: Float32Array): (img: Float32Array) => Uint8Array {
  let inUnit = true;
  for (let i = 0; i < x.length && inUnit; i++) inUnit = x[i] >= 0 && x[i] <= 1;
  return (img) => {
    let lo = 0;
    let hi = 1;
    if (!inUnit) {
      lo = Infinity;
      hi = -Infinity;
      for (const v of img) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      if (!(hi > lo)) [lo, hi] = [lo === Infinity ? 0 : lo, (lo === Infinity ? 0 : lo) + 1];
    }
    const out = new Uint8Array(img.length);
    for (let i = 0; i < img.length; i++) {
      const t = Number.isFinite(img[i]) ? Math.min(1, Math.max(0, (img[i] - lo) / (hi - lo))) : 0;
      out[i] = 255 - Math.round(255 * t);
    }
    return out;
  };
}

/**
 * A minimal PNG encoder for 8-bit greyscale. A PNG is an 8-byte signature, then chunks, each
 * [length u32 BE][type][data][crc32 of type + data]: IHDR (size and pixel format), IDAT (the zlib
 * stream of the rows, each led by its filter byte, 0 = none), IEND.
 *   pixels: [height, width] grey levels, 0 black to 255 white, row-major
 */
export function encodeGreyPng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || pixels.length !== width * height) {
    throw new RangeError(`${pixels.length} pixels are not a ${width} x ${height} image`);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bits per sample
  ihdr[9] = 0; // colour type 0: greyscale; then compression 0 (deflate), filter method 0, no interlace
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const parts = [PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw, { level: 9 })), pngChunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
