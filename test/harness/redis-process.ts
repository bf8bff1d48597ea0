import { GroupChild } from "./process-group.js";

const READY_LINE = "Ready to accept connections";
const READY_TIMEOUT_MS = 15_000;

/** Raised when redis-server exits or stays silent before it is ready; carries the log for diagnosis. */
export class RedisStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- redis-server output ---\n${output}`);
    this.name = "RedisStartError";
  }
}

/** Spawns redis-server with the given arguments and resolves once it accepts connections. */
export async function spawnRedis(args: readonly string[]): Promise<GroupChild> {
  let onReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const child = GroupChild.spawn({
    label: "redis-server",
    command: "redis-server",
    args,
    onLine: (line) => {
      if (line.includes(READY_LINE)) onReady();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      resolve("timeout");
    }, READY_TIMEOUT_MS);
  });
  const outcome = await Promise.race([ready.then(() => "ready" as const), child.exited, timedOut]);
  clearTimeout(timer);
  if (outcome !== "ready") {
    await child.kill();
    const why =
      outcome === "timeout"
        ? `redis-server was not ready within ${READY_TIMEOUT_MS} ms`
        : `redis-server exited before it was ready (${child.describeExit()})`;
    throw new RedisStartError(why, child.output());
  }

  return child;
}
