import type { Redis } from "ioredis";

/** `INFO <section>` as field → value. */
export async function info(client: Redis, section: string): Promise<Map<string, string>> {
  const text = await client.info(section);
  const fields = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

export async function usedMemory(client: Redis): Promise<number> {
  return Number((await info(client, "memory")).get("used_memory"));
}

/**
 * Commands a client sends in these benchmarks. None of them is called from RedisStore's Lua scripts, so their
 * `INFO commandstats` calls are round trips, not script internals (those are counted there too).
 */
const CLIENT_COMMANDS = [
  "evalsha",
  "eval",
  "xadd",
  "xreadgroup",
  "xack",
  "rpush",
  "pexpire",
  "sadd",
] as const;

/** What this harness itself sends (INFO, CONFIG RESETSTAT, drain PINGs); not part of any message's cost. */
const HARNESS_COMMANDS = new Set(["info", "config", "ping", "flushall", "quit"]);

export interface ServerSample {
  /** used_cpu_user + used_cpu_sys, in µs. */
  cpuMicros: number;
  /** Calls of CLIENT_COMMANDS since the last CONFIG RESETSTAT. */
  clientCalls: number;
  /** Every other command, i.e. the redis.call()s made inside scripts, since the last CONFIG RESETSTAT. */
  scriptCalls: number;
  /** Time spent inside EVAL/EVALSHA since the last CONFIG RESETSTAT, in µs. */
  scriptMicros: number;
}

export async function serverSample(client: Redis): Promise<ServerSample> {
  const [cpu, commands] = await Promise.all([info(client, "cpu"), info(client, "commandstats")]);
  const stat = (name: string, field: "calls" | "usec"): number => {
    const match = new RegExp(`(?:^|,)${field}=(\\d+)`).exec(commands.get(`cmdstat_${name}`) ?? "");
    return Number(match?.[1] ?? 0);
  };
  const clientCommands = new Set<string>(CLIENT_COMMANDS);
  let scriptCalls = 0;
  for (const field of commands.keys()) {
    const name = field.replace(/^cmdstat_/, "");
    if (!clientCommands.has(name) && !HARNESS_COMMANDS.has(name)) scriptCalls += stat(name, "calls");
  }
  return {
    scriptCalls,
    cpuMicros: (Number(cpu.get("used_cpu_user")) + Number(cpu.get("used_cpu_sys"))) * 1e6,
    clientCalls: CLIENT_COMMANDS.reduce((sum, name) => sum + stat(name, "calls"), 0),
    scriptMicros: stat("evalsha", "usec") + stat("eval", "usec"),
  };
}
