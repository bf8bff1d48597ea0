import type { Readable } from "node:stream";

/**
 * Keeps draining a child's stdout and stderr for its whole lifetime (a full pipe would block the child on its
 * next log write) and keeps the last `maxChars` characters of both, for diagnosis. `onChunk` runs after each
 * chunk. Returns the output captured so far.
 */
export function captureOutput(
  child: { stdout: Readable | null; stderr: Readable | null },
  maxChars: number,
  onChunk?: () => void,
): () => string {
  let output = "";
  const capture = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-maxChars);
    onChunk?.();
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", capture);
  return () => output;
}
