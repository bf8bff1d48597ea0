import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../harness/free-port.js";

const BMN = fileURLToPath(new URL("../../../cli/bin/bmn.js", import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BMN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("exit", (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves with the first stdout line matching `pattern`. */
function lineMatching(
  child: ChildProcessByStdio<null, Readable, Readable>,
  pattern: RegExp,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const line = buffered.split("\n").find((candidate) => pattern.test(candidate));
      if (line !== undefined) resolve(line);
    });
    child.on("exit", (code) => {
      reject(new Error(`bmn gateway exited with ${String(code)}: ${stderr}`));
    });
  });
}

describe("bmn gateway and bmn topology", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bmn-gw-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs from a config file, prints the listening line, answers bmn topology, and drains on SIGTERM", async () => {
    const port = await freePort();
    const config = join(dir, "a.json");
    await writeFile(
      config,
      JSON.stringify({
        domain: "team-a",
        logLevel: "silent",
        gateway: {
          port,
          peers: [{ domain: "team-b", endpoints: ["http://127.0.0.1:1"], token: "a-long-shared-token" }],
          routeRefreshMs: 200,
        },
      }),
    );
    const child = spawn(process.execPath, [BMN, "gateway", "--config", config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await lineMatching(child, /listening on/);
      expect(line).toBe(`bmn gateway team-a listening on http://127.0.0.1:${port}`);
      const topology = await run(["topology", "--gateway", `http://127.0.0.1:${port}`, "--json"]);
      expect(topology.code).toBe(0);
      expect(JSON.parse(topology.stdout)).toMatchObject({
        domain: "team-a",
        links: [{ peer: "team-b", endpoints: ["http://127.0.0.1:1"] }],
      });
      const table = await run(["topology", "--gateway", `http://127.0.0.1:${port}`]);
      expect(table.stdout).toMatch(/^domain team-a/);
      expect(table.stdout).toMatch(/team-b/);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("refuses a bad gateway config with one line naming the key", async () => {
    const config = join(dir, "bad.json");
    await writeFile(
      config,
      JSON.stringify({ gateway: { peers: [{ domain: "b", endpoints: ["ftp://x"], token: "12345678" }] } }),
    );
    const result = await run(["gateway", "--config", config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^bmn: cannot start the gateway: config key gateway\.peers\.0\.endpoints\.0 must be an http:\/\/ or https:\/\/ URL\n$/,
    );
  });

  it("says where the gateway could not be reached", async () => {
    const result = await run(["topology", "--gateway", "http://127.0.0.1:1"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot reach the gateway at http:\/\/127\.0\.0\.1:1/);
  });
});
