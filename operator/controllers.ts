/**
 * Every controller of the operator, started and stopped together on one informer pool (one watch per
 * resource whichever controllers use it). The operator process (leader election, health and metrics) only
 * talks to this module, so adding a kind never touches the process code.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import {
  agentEndpointDefinition,
  controllerOptions,
  gatewayDefinition,
  messageDomainDefinition,
  poolOptions,
  type ControllerOptions,
} from "./controller.js";
import { EventRecorder } from "./event-recorder.js";
import { InformerPool } from "./informer-pool.js";
import { AgentEndpointReconciler } from "./reconcile-agent-endpoint.js";
import { GatewayReconciler } from "./reconcile-gateway.js";
import { MessageDomainReconciler } from "./reconcile-message-domain.js";
import { ResourceController } from "./resource-controller.js";

export type { ControllerOptions } from "./controller.js";

export interface RunningControllers {
  /** Stops every watch and waits for running reconciles to finish. */
  stop(): Promise<void>;
}

export async function startControllers(
  kubeConfig: KubeConfig,
  options: ControllerOptions = {},
): Promise<RunningControllers> {
  // One recorder, so its repeat filter covers every kind.
  const events =
    options.events ??
    new EventRecorder(kubeConfig, {
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    });
  const reconcilerOptions = { ...options, events };
  const pool = new InformerPool(kubeConfig, poolOptions(options));
  const controllers = [
    messageDomainDefinition(new MessageDomainReconciler(kubeConfig, reconcilerOptions)),
    gatewayDefinition(new GatewayReconciler(kubeConfig, reconcilerOptions)),
    agentEndpointDefinition(new AgentEndpointReconciler(kubeConfig, reconcilerOptions)),
  ].map((definition) => new ResourceController(pool, definition, controllerOptions(options)));
  try {
    await pool.start();
  } catch (error) {
    await pool.stop();
    throw error;
  }
  for (const controller of controllers) controller.start();
  return {
    stop: async () => {
      await pool.stop();
      await Promise.all(controllers.map((controller) => controller.stop()));
    },
  };
}
