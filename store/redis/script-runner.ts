import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Cluster, Redis } from "ioredis";

const LUA_DIR = new URL("./lua/", import.meta.url);
const LIBRARY = readFileSync(new URL("lib.lua", LUA_DIR), "utf8");

export type ScriptName =
  | "enqueue-12"
  | "ack-12"
  | "ack-many-12"
  | "extend-12"
  | "nack-12"
  | "lease-12"
  | "commit"
  | "dlq-remove-12"
  | "subscribe"
  | "unsubscribe"
  | "a2a-create"
  | "a2a-append"
  | "a2a-push-put"
  | "a2a-link"
  | "trace-append";

interface LoadedScript {
  source: string;
  sha: string;
}

/** Runs the Lua scripts in ./lua by EVALSHA, falling back to EVAL once when the server has not cached them. */
export class ScriptRunner {
  private readonly scripts = new Map<ScriptName, LoadedScript>();

  constructor(private readonly client: Redis | Cluster) {}

  private load(name: ScriptName): LoadedScript {
    let script = this.scripts.get(name);
    if (script === undefined) {
      const body = readFileSync(new URL(`${name}.lua`, LUA_DIR), "utf8");
      // The shebang line (Redis 7 script flags) must stay first: a script declared as writing is refused whole
      // under OOM, before any write, while `allow-oom` ones (receive, ack, nack, purge) run so consumers drain.
      const shebang = body.startsWith("#!") ? body.slice(0, body.indexOf("\n") + 1) : "";
      const source = `${shebang}${LIBRARY}\n${body.slice(shebang.length)}`;
      script = { source, sha: createHash("sha1").update(source).digest("hex") };
      this.scripts.set(name, script);
    }
    return script;
  }

  async run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    const script = this.load(name);
    try {
      return await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("NOSCRIPT")) {
        return this.client.eval(script.source, keys.length, ...keys, ...args);
      }
      throw error;
    }
  }
}
