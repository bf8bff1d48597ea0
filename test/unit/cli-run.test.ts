import { describe, expect, it } from "vitest";
import { BmnClientError, ClientTimeoutError, SidecarUnreachableError } from "../../client/index.js";
import type { Io } from "../../cli/context.js";
import { describeCommanderMessage, describeError, UsageError } from "../../cli/errors.js";
import { runCli } from "../../cli/program.js";

/** Runs the CLI in-process; these cases all fail before any request, so no sidecar is needed. */
async function run(args: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (text) => (out += text),
    err: (text) => (err += text),
    readStdin: () => Promise.resolve(stdin),
    // An unroutable URL: a request would fail loudly instead of finding some real service.
    env: { BMN_URL: "http://127.0.0.1:9" },
    onInterrupt: () => () => undefined,
  };
  const code = await runCli(args, io);
  return { code, out, err };
}

describe("bmn usage errors (exit 2, one line, before any request)", () => {
  it.each([
    [["status", "hi", "--priority", "0"], "bmn: --priority must be 1-10, got 0"],
    [["status", "hi", "--percentage", "150"], "bmn: --percentage must be 0-100, got 150"],
    [["send", "bob", "hi", "--priority", "x"], 'bmn: --priority must be 0-9, got "x"'],
    [
      ["send"],
      "bmn: missing <to> — usage: bmn send <to> <message|-> or bmn send --topic <topic> <message|->",
    ],
    [
      ["send", "bob", "hi", "--topic", "t"],
      'bmn: give either <to> or --topic, not both (got "bob" and --topic)',
    ],
    [
      ["listen", "--duration", "-1"],
      'bmn: --duration must be a number of seconds above 0 and at most 86400, got "-1"',
    ],
    [["trace"], "bmn: give a message id or --correlation-id <id> (one of them)"],
    [
      ["dlq", "purge", "--reason", "expired"],
      "bmn: dlq purge deletes dead letters (reason expired) for good; add --yes to confirm",
    ],
    [["nack", "l-1", "--delay-ms", "soon"], 'bmn: --delay-ms must be 0-604800000, got "soon"'],
    [["register", "--metadata", "novalue"], 'bmn: --metadata must be key=value, got "novalue"'],
    [["--url", "ftp://x", "health"], 'bmn: --url must be an http:// or https:// URL, got "ftp://x"'],
    [["health", "--bogus"], `bmn: unknown option '--bogus' — see "bmn health --help"`],
    [["collab"], "bmn: missing the message — usage: bmn collab <message|->"],
    [
      ["bridge", "redis://legacy:6379"],
      "bmn: redis:// may be a BMN store or a legacy network: add --legacy to bridge the legacy Beast Mode network there (bmn doctor redis://legacy:6379 tells which)",
    ],
    [
      ["bridge", "legacy"],
      "bmn: bmn bridge legacy needs the legacy Redis: --redis-url or BMN_LEGACY_REDIS_URL",
    ],
    [
      ["bridge", "amqp://r", "--consume", "orders"],
      'bmn: --consume must look like <queue-or-topic>=<agent|topic:t|dlq>, got "orders"',
    ],
    [
      ["bridge", "kafka://k:9092"],
      "bmn: the bridge has nothing to do: give at least one --consume or --publish",
    ],
    [
      ["migrate", "legacy", "--redis-url", "redis://x"],
      "bmn: bmn migrate legacy needs exactly one of --dry-run or --apply",
    ],
    [
      ["doctor", "legacy-redis"],
      'bmn: doctor needs a URL such as redis://host:6379 or amqp://host:5672, got "legacy-redis"',
    ],
  ])("bmn %j", async (args, line) => {
    expect(await run(args)).toEqual({ code: 2, out: "", err: `${line}\n` });
  });

  it("refuses an empty message from stdin", async () => {
    expect(await run(["send", "bob", "-"], "\n")).toEqual({
      code: 2,
      out: "",
      err: "bmn: the message read from stdin is empty\n",
    });
  });

  it("prints help and the version on stdout with exit 0", async () => {
    const help = await run(["send", "--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("Usage: bmn send [options] [to] [message]");
    expect(help.out).toContain("Examples:");
    expect((await run(["--version"])).out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe("error lines", () => {
  const context = { url: "http://127.0.0.1:7420", urlSource: "default" };

  it("explains an unreachable sidecar and where its URL came from", () => {
    const error = new SidecarUnreachableError("http://10.0.0.1:7420", new Error("connect ECONNREFUSED"));
    expect(describeError(error, context)).toBe(
      'cannot reach the sidecar at http://10.0.0.1:7420 — start one with "npm start" or set BMN_URL',
    );
    expect(describeError(error, { url: "http://10.0.0.1:7420", urlSource: "--url" })).toContain(
      "(from --url)",
    );
    expect(describeError(new ClientTimeoutError("http://x", 10), context)).toBe(
      'no answer from the sidecar at http://x within 10 ms — is it overloaded or stuck? check "bmn health"',
    );
  });

  it("adds a hint to the sidecar's own message", () => {
    const overloaded = new BmnClientError("OVERLOADED", "too many requests in flight", {
      status: 429,
      retryAfterSeconds: 2,
    });
    expect(describeError(overloaded, context)).toBe(
      "the sidecar is overloaded: too many requests in flight — retry in 2 s",
    );
    const expired = new BmnClientError("LEASE_EXPIRED", 'lease "x" has expired', { status: 409 });
    expect(describeError(expired, context)).toContain("bmn receive --lease");
    expect(describeError(new BmnClientError("NOT_FOUND", "no dead letter 1 for a"), context)).toBe(
      "no dead letter 1 for a",
    );
    expect(describeError(new UsageError("--x is wrong"), context)).toBe("--x is wrong");
  });

  it("folds commander's messages into one line", () => {
    expect(describeCommanderMessage("error: unknown command 'sned'\n(Did you mean send?)")).toBe(
      "unknown command 'sned' (did you mean send?)",
    );
  });
});
