import type { Command } from "commander";
import { isBmnClientError, type ReadyStatus, type SidecarInfo } from "../../client/index.js";
import type { CommandEnv } from "../context.js";
import { CliError } from "../errors.js";

export function registerHealth(program: Command, env: CommandEnv): void {
  program
    .command("health")
    .description("check that the sidecar answers and its store is reachable; exits 1 when not ready")
    .option("--json", "print the result as one JSON line")
    .addHelpText(
      "after",
      `
Examples:
  bmn health
  BMN_URL=http://10.0.0.5:7420 bmn health --json`,
    )
    .action(async (flags: { json?: boolean }, command: Command) => {
      const ctx = env.context(command);
      const { url } = ctx.settings;
      await ctx.client.health(); // unreachable → the "cannot reach the sidecar" line
      let ready: ReadyStatus | undefined;
      let notReady: string | undefined;
      try {
        ready = await ctx.client.ready();
      } catch (error) {
        if (!isBmnClientError(error) || error.status === undefined) throw error;
        notReady = error.message;
      }
      const info: SidecarInfo | undefined = await ctx.client.info().catch(() => undefined);
      if (flags.json === true) {
        ctx.out(
          JSON.stringify({
            url,
            healthy: true,
            ready: notReady === undefined,
            ...(info ?? {}),
            ...(notReady === undefined ? {} : { error: notReady }),
          }),
        );
      } else if (notReady === undefined) {
        const store = info?.store ?? ready?.store ?? "unknown";
        const details =
          info === undefined
            ? `store ${store}`
            : `domain ${info.domain}, store ${info.store}${info.durable ? "" : " (not durable: messages die with the process)"}, version ${info.version}`;
        ctx.out(`ok: the sidecar at ${url} is ready (${details})`);
      }
      if (notReady !== undefined) {
        throw new CliError(
          `the sidecar at ${url} is up but not ready: ${notReady} — check its store (e.g. is Redis running?)`,
        );
      }
    });
}
