import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BMN = fileURLToPath(new URL("../../cli/bin/bmn.js", import.meta.url));

function runStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BMN, "start"], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("exit", (code) => {
      resolve({ code, stderr });
    });
  });
}

describe("bmn start refuses a bad configuration with one line", () => {
  it.each([
    [{ BMN_PORT: "abc" }, /^bmn: cannot start: config key port must be a whole number from 0 to 65535\n$/],
    [
      { BMN_STORE: "mongo" },
      /^bmn: cannot start: config key store\.type must be memory, redis or sql \(tidb is an alias of sql\)\n$/,
    ],
    [
      { BMN_DOMAIN: "Bad_Domain" },
      /^bmn: cannot start: config key domain must be a lowercase DNS label.*\n$/,
    ],
    [
      { BMN_STORE: "redis", BMN_REDIS_URL: "redis://127.0.0.1:1" },
      /^bmn: cannot start: redis is unavailable.*BMN_REDIS_URL.*\n$/,
    ],
  ])("%j", async (env, line) => {
    const { code, stderr } = await runStart({ BMN_PORT: "0", ...env });
    expect(code).toBe(1);
    expect(stderr).toMatch(line);
  });

  it("names the port when it is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const { code, stderr } = await runStart({ BMN_PORT: String(port) });
      expect(code).toBe(1);
      expect(stderr).toMatch(/^bmn: cannot start: .*EADDRINUSE.* set BMN_PORT \(or --port\)\n$/);
    } finally {
      blocker.close();
    }
  });
});
