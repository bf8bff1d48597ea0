import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { registerA2a } from "./a2a.js";
import { registerAck } from "./ack.js";
import { registerAgents } from "./agents.js";
import { registerBridge } from "./bridge.js";
import { registerCollab } from "./collab.js";
import { registerConsole } from "./console.js";
import { registerDlq } from "./dlq.js";
import { registerDoctor } from "./doctor.js";
import { registerGateway } from "./gateway.js";
import { registerHealth } from "./health.js";
import { registerInspect } from "./inspect.js";
import { registerListen } from "./listen.js";
import { registerMigrate } from "./migrate.js";
import { registerNack } from "./nack.js";
import { registerOperator } from "./operator.js";
import { registerQueues } from "./queues.js";
import { registerReceive } from "./receive.js";
import { registerRegister } from "./register.js";
import { registerReplay } from "./replay.js";
import { registerRequest } from "./request.js";
import { registerSend } from "./send.js";
import { registerStart } from "./start.js";
import { registerStats } from "./stats.js";
import { registerStatus } from "./status.js";
import { registerSubscribe } from "./subscribe.js";
import { registerTail } from "./tail.js";
import { registerTopology } from "./topology.js";
import { registerTrace } from "./trace.js";

/**
 * Adds one command (or one small group) to the program. Each lives in its own file in cli/commands/.
 * Use `env.context(command)` inside an action for the resolved settings (`--url`, `--config`, `--agent`,
 * `--verbose`) and a BmnClient. Throw CliError / UsageError (cli/errors.ts) for a one-line failure; bmn prints
 * `bmn: <message>` on stderr and exits non-zero. bmn never calls process.exit() after a successful action, so an
 * action may leave a server listening (that is how `bmn start` keeps running).
 */
export type RegisterCommand = (program: Command, env: CommandEnv) => void;

/**
 * The command list, in the order `bmn --help` shows them.
 *
 * HOOK for `bmn start`: the sidecar owns that command. Add `cli/commands/start.ts` exporting
 * `registerStart: RegisterCommand` (it calls `startSidecar` from sidecar/start-sidecar.ts), then import it here and
 * put it first in this list. Nothing else in the CLI needs to change.
 */
export const COMMANDS: readonly RegisterCommand[] = [
  registerStart,
  registerGateway,
  registerConsole,
  registerSend,
  registerStatus,
  registerCollab,
  registerListen,
  registerHealth,
  registerRequest,
  registerReceive,
  registerAck,
  registerNack,
  registerSubscribe,
  registerRegister,
  registerAgents,
  registerQueues,
  registerDlq,
  registerReplay,
  registerTail,
  registerInspect,
  registerTrace,
  registerStats,
  registerTopology,
  registerA2a,
  registerOperator,
  registerBridge,
  registerMigrate,
  registerDoctor,
];

export function registerCommands(program: Command, env: CommandEnv): Command {
  for (const register of COMMANDS) register(program, env);
  return program;
}
