/**
 * App icons drawn from code at build time (no downloaded artwork): a white medical cross on
 * the theme colour, full-bleed so the same PNG works as a maskable icon (the cross stays inside
 * the central safe zone). Encoded as 8-bit RGBA PNG with the platform's zlib
 * (`CompressionStream("deflate")`).
 */

export const THEME_COLOR = "#0f766e";
const BACKGROUND: Rgb = [0x0f, 0x76, 0x6e];
const FOREGROUND: Rgb = [0xff, 0xff, 0xff];

type Rgb = [number, number, number];

/** Coverage of the cross at a point in unit coordinates (0..1). */
function insideCross(x: number, y: number): boolean {
  const arm = 0.15; // half-width of an arm
  const reach = 0.3; // half-length of an arm
  const r = 0.06; // rounding of the arm ends
  const cx = x - 0.5;
  const cy = y - 0.5;
  const inArm = (along: number, across: number) => {
    if (Math.abs(across) > arm || Math.abs(along) > reach) return false;
    // Round the four outer corners of each arm.
    const ex = Math.abs(along) - (reach - r);
    const ey = Math.abs(across) - (arm - r);
    if (ex > 0 && ey > 0) return ex * ex + ey * ey <= r * r;
    return true;
  };
  return inArm(cx, cy) || inArm(cy, cx);
}

/** RGBA pixels of a square icon, anti-aliased by 4×4 supersampling. */
export function drawIcon(size: number): Uint8Array {
  const pixels = new Uint8Array(size * size * 4);
  const samples = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let hits = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) / size;
          const y = (py + (sy + 0.5) / samples) / size;
          if (insideCross(x, y)) hits++;
        }
      }
      const a = hits / (samples * samples);
      const i = (py * size + px) * 4;
      for (let c = 0; c < 3; c++) {
        pixels[i + c] = Math.round(BACKGROUND[c] * (1 - a) + FOREGROUND[c] * a);
      }
      pixels[i + 3] = 255;
    }
  }
  return pixels;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array, crc = 0xffffffff): number {
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return crc;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  const typeBytes = new TextEncoder().encode(type);
  out.set(typeBytes, 4);
  out.set(data, 8);
  const crc = crc32(data, crc32(typeBytes)) ^ 0xffffffff;
  view.setUint32(8 + data.length, crc >>> 0);
  return out;
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new CompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Encodes RGBA pixels as a PNG file. */
export async function encodePng(
  width: number,
  height: number,
  rgba: Uint8Array,
): Promise<Uint8Array> {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type RGBA
  // compression, filter, interlace: 0
  const stride = width * 4;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", await deflate(raw)),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function iconPng(size: number): Promise<Uint8Array> {
  return encodePng(size, size, drawIcon(size));
}
