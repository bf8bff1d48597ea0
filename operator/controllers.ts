/**
 * Every controller of the operator, started and stopped together. The operator process (leader election,
 * health and metrics) only talks to this module, so adding a kind never touches the process code.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { AgentEndpointController, type ControllerOptions } from "./controller.js";

export interface RunningControllers {
  /** Stops every watch and waits for running reconciles to finish. */
  stop(): Promise<void>;
}

export async function startControllers(
  kubeConfig: KubeConfig,
  options: ControllerOptions = {},
): Promise<RunningControllers> {
  const controllers = [new AgentEndpointController(kubeConfig, options)];
  await Promise.all(controllers.map((controller) => controller.start()));
  return {
    stop: async () => {
      await Promise.all(controllers.map((controller) => controller.stop()));
    },
  };
}
