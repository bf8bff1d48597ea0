import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { until } from "../harness/poll-until.js";
import { GroupChild, stopAllChildren } from "../harness/process-group.js";

const TSX_LOADER = ["--import", "tsx"];
const PROCESS_GROUP = fileURLToPath(new URL("../harness/process-group.ts", import.meta.url));

afterAll(stopAllChildren);

/** True while a process with this pid exists (signal 0 checks without sending anything). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The state letter of /proc/<pid>/stat: R, S, T (stopped), Z… */
async function procState(pid: number): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).charAt(0);
}

/** A shell that forks a long sleep and prints its pid, so the test can see whether the grandchild survives. */
function shellWithGrandchild(): GroupChild {
  return GroupChild.spawn({
    label: "sh",
    command: "sh",
    args: ["-c", "sleep 600 & echo grandchild $!; wait"],
  });
}

async function grandchildPid(child: GroupChild): Promise<number> {
  const line = await until(
    () => /grandchild (\d+)/.exec(child.output())?.[1],
    10_000,
    "the shell to print its grandchild's pid",
  );
  return Number(line);
}

describe("process-group helper", () => {
  it("kill() ends the whole group, grandchildren included", async () => {
    const child = shellWithGrandchild();
    const grandchild = await grandchildPid(child);
    expect(exists(grandchild)).toBe(true);
    await child.kill();
    expect(child.alive).toBe(false);
    await until(() => !exists(grandchild), 10_000, "the grandchild to be gone");
  });

  it("stop() ends a paused group too", async () => {
    const child = shellWithGrandchild();
    const grandchild = await grandchildPid(child);
    child.pause();
    await until(async () => (await procState(grandchild)) === "T", 10_000, "the grandchild to be stopped");
    child.resume();
    await until(async () => (await procState(grandchild)) !== "T", 10_000, "the grandchild to run again");
    child.pause();
    await child.stop();
    await until(() => !exists(grandchild), 10_000, "the grandchild to be gone");
  });

  it("a parent that dies by SIGTERM takes its child groups with it", async () => {
    // A node parent that starts a group through the helper, prints the grandchild's pid, then waits forever.
    const script = `
      import { GroupChild } from ${JSON.stringify(PROCESS_GROUP)};
      const child = GroupChild.spawn({ label: "sh", command: "sh", args: ["-c", "sleep 600 & echo grandchild $!; wait"] });
      const timer = setInterval(() => {
        const match = /grandchild (\\d+)/.exec(child.output());
        if (match) { console.log("pid " + match[1]); clearInterval(timer); setInterval(() => {}, 1000); }
      }, 20);
    `;
    const parent = spawn(process.execPath, [...TSX_LOADER, "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let printed = "";
    parent.stdout.on("data", (chunk: Buffer) => {
      printed += chunk.toString("utf8");
    });
    const grandchild = Number(
      await until(() => /pid (\d+)/.exec(printed)?.[1], 30_000, "the parent's report"),
    );
    expect(exists(grandchild)).toBe(true);
    const exited = new Promise((resolve) => parent.once("exit", resolve));
    parent.kill("SIGTERM");
    await exited;
    await until(() => !exists(grandchild), 10_000, "the grandchild to be gone with its parent");
  });
});
