import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { CliError, UsageError } from "../errors.js";

/** `bmn doctor <url>`: what answers at an address, and which bridge fits. */
export function registerDoctor(program: Command, env: CommandEnv): void {
  program
    .command("doctor")
    .description(
      "say what answers at a URL (legacy network, BMN store, RabbitMQ, Kafka, sidecar) and which bridge fits",
    )
    .argument("<url>", "redis://..., amqp://..., kafka://host:port, http://...")
    .option("--json", "print the finding as one JSON line")
    .action(async (url: string, flags: { json?: boolean }, command: Command) => {
      const ctx = env.context(command);
      if (!/^[a-z][a-z0-9+.-]*:\/\/./i.test(url))
        throw new UsageError(
          `doctor needs a URL such as redis://host:6379 or amqp://host:5672, got ${JSON.stringify(url)}`,
        );
      const { detectEndpoint } = await import("../../bridge/detect/detect-endpoint.js");
      let finding: Awaited<ReturnType<typeof detectEndpoint>>;
      try {
        finding = await detectEndpoint(url);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new CliError(
          `nothing usable answers at ${url}: ${message || "connection failed"} — check the address and that the server runs`,
        );
      }
      if (flags.json === true) {
        ctx.out(JSON.stringify(finding));
        return;
      }
      ctx.out(`${finding.url}: ${finding.found}`);
      for (const detail of finding.details) ctx.out(`  ${detail}`);
      ctx.out(
        finding.bridge === undefined
          ? `next: ${finding.next}`
          : `bridge: ${finding.bridge} — ${finding.next}`,
      );
    });
}
