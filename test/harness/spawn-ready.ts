import { GroupChild, type GroupChildOptions } from "./process-group.js";

/**
 * Spawns a server in a process group of its own and resolves once it printed `readyLine`; kills it and throws
 * (with its output) when it exits first or stays silent for `timeoutMs`.
 */
export async function spawnUntilReady(
  options: Omit<GroupChildOptions, "onLine">,
  readyLine: string,
  timeoutMs: number,
): Promise<GroupChild> {
  let onReady = (): void => undefined;
  const ready = new Promise<"ready">((resolve) => {
    onReady = () => {
      resolve("ready");
    };
  });
  const child = GroupChild.spawn({
    ...options,
    onLine: (line) => {
      if (line.includes(readyLine)) onReady();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      resolve("timeout");
    }, timeoutMs);
  });
  const outcome = await Promise.race([ready, child.exited, timedOut]);
  clearTimeout(timer);
  if (outcome !== "ready") {
    await child.kill();
    const why = outcome === "timeout" ? `not ready within ${timeoutMs} ms` : child.describeExit();
    throw new Error(`${options.label} did not start (${why})\n${child.output()}`);
  }
  return child;
}
