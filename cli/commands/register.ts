import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { UsageError } from "../errors.js";
import { parseSecondsFlag } from "../legacy.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerRegister(program: Command, env: CommandEnv): void {
  program
    .command("register")
    .description("register this CLI's agent (--agent) for discovery, with capabilities")
    .option("--capability <capability>", "a capability it advertises (repeatable)", collect, [])
    .option("--metadata <key=value>", "a metadata entry (repeatable)", collect, [])
    .option("--ttl <seconds>", "how long the registration lives without a heartbeat (sidecar default 300)")
    .addHelpText(
      "after",
      "\nExample:\n  bmn register --agent reviewer --capability code-review --capability python --ttl 600",
    )
    .action(async (flags: { capability: string[]; metadata: string[]; ttl?: string }, command: Command) => {
      const ttlSeconds = parseSecondsFlag(flags.ttl, "--ttl");
      const metadata: Record<string, string> = {};
      for (const entry of flags.metadata) {
        const at = entry.indexOf("=");
        if (at <= 0) {
          throw new UsageError(`--metadata must be key=value, got ${JSON.stringify(entry)}`);
        }
        metadata[entry.slice(0, at)] = entry.slice(at + 1);
      }
      const ctx = env.context(command);
      const record = await ctx.client.register({
        capabilities: flags.capability,
        metadata,
        ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
      });
      ctx.out(`registered ${record.name} until ${new Date(record.expiresAt).toISOString()}`);
    });
}
