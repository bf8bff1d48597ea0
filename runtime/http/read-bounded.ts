/** The answer was longer than the caller reads. */
export class ResponseTooLargeError extends Error {
  override readonly name = "ResponseTooLargeError";
  constructor(readonly maxBytes: number) {
    super(`the answer is longer than ${String(maxBytes)} bytes`);
  }
}

/**
 * The body of a fetch `Response` as text, read at most `maxBytes` far: a longer answer is cancelled (its connection
 * closed) and throws ResponseTooLargeError, so a hostile or broken peer cannot fill the reader's memory.
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return "";
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
