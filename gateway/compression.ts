import { promisify } from "node:util";
import zlib from "node:zlib";
import { BmnError } from "../core/errors.js";

export type CompressionAlgorithm = "none" | "gzip" | "brotli";
/** The HTTP `content-encoding` of each algorithm. */
export const CONTENT_ENCODING: Record<Exclude<CompressionAlgorithm, "none">, string> = {
  gzip: "gzip",
  brotli: "br",
};

/**
 * Brotli quality 4: on the agent-like corpus of test/unit/gateway-compression.test.ts it is within a few percent
 * of gzip level 6's size at about 2.5x its speed (the default quality 11 is ~100x slower). See docs/gateways.md.
 */
export const BROTLI_QUALITY = 4;

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
const brotliCompress = promisify(zlib.brotliCompress);
const brotliDecompress = promisify(zlib.brotliDecompress);

export interface EncodedBody {
  body: Buffer;
  /** The `content-encoding` header to send, or undefined for identity. */
  encoding: string | undefined;
}

/** Compresses `raw` with `algorithm` when it is at least `minBytes` long; smaller bodies go as they are. */
export async function encodeBody(
  raw: Buffer,
  algorithm: CompressionAlgorithm,
  minBytes: number,
): Promise<EncodedBody> {
  if (algorithm === "none" || raw.length < minBytes) return { body: raw, encoding: undefined };
  if (algorithm === "gzip") return { body: await gzip(raw), encoding: CONTENT_ENCODING.gzip };
  const body = await brotliCompress(raw, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  return { body, encoding: CONTENT_ENCODING.brotli };
}

/**
 * Undoes `content-encoding` (identity, gzip or br), refusing to inflate past `maxBytes`: a small compressed body
 * cannot turn into gigabytes in memory (a "zip bomb").
 */
export async function decodeBody(
  body: Buffer,
  encoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const name = (encoding ?? "identity").trim().toLowerCase();
  let decoded: Buffer;
  try {
    if (name === "identity" || name === "") decoded = body;
    else if (name === "gzip" || name === "x-gzip")
      decoded = await gunzip(body, { maxOutputLength: maxBytes + 1 });
    else if (name === "br") decoded = await brotliDecompress(body, { maxOutputLength: maxBytes + 1 });
    else
      throw new BmnError(
        "UNSUPPORTED_MEDIA_TYPE",
        `content-encoding ${name} is not supported; use gzip or br`,
        {
          field: "content-encoding",
        },
      );
  } catch (error) {
    if (error instanceof BmnError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(maxBytes);
    throw new BmnError("INVALID_ARGUMENT", `body is not valid ${name}: ${(error as Error).message}`, {
      field: "content-encoding",
    });
  }
  if (decoded.length > maxBytes) throw tooLarge(maxBytes);
  return decoded;
}

function tooLarge(maxBytes: number): BmnError {
  return new BmnError("TOO_LARGE", `batch body is over the limit of ${maxBytes} bytes after decompression`, {
    field: "body",
  });
}
