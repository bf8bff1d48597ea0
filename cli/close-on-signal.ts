/**
 * For a command that runs in the foreground (`bmn start`, `bmn gateway`): on the first SIGINT or SIGTERM, says
 * `bmn: <signal> received, <doing>` on stderr, closes, and exits 0, or 1 when closing fails. Further signals
 * while it closes are ignored.
 */
export function closeOnSignal(doing: string, close: () => Promise<unknown>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`bmn: ${signal} received, ${doing}\n`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`bmn: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => {
    stop("SIGINT");
  });
  process.once("SIGTERM", () => {
    stop("SIGTERM");
  });
}
