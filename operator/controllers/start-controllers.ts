/**
 * Every controller of the operator, started and stopped together on one informer pool (one watch per
 * resource whichever controllers use it). The operator process (leader election, health and metrics) only
 * talks to this module, so adding a kind never touches the process code.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { AgentEndpointReconciler } from "../reconcilers/agent-endpoint.js";
import type { ReconcilerOptions } from "../reconcilers/base.js";
import { GatewayReconciler } from "../reconcilers/gateway.js";
import { MessageDomainReconciler } from "../reconcilers/message-domain.js";
import { EventRecorder } from "../status/event-recorder.js";
import { agentEndpointDefinition, gatewayDefinition, messageDomainDefinition } from "./definitions.js";
import { InformerPool } from "./informer-pool.js";
import {
  ResourceController,
  type ReconcileFields,
  type ResourceControllerOptions,
} from "./resource-controller.js";
import type { WorkQueueOptions } from "./work-queue.js";

export interface ControllerOptions extends ReconcilerOptions {
  /** Watch one namespace only; default all namespaces. */
  namespace?: string;
  /** Every cached resource is requeued this often. Default 5 minutes; 0 turns resync off. */
  resyncMs?: number;
  queue?: WorkQueueOptions;
  /** Reconcile failures, watch errors (both are retried) and failed Event writes. */
  onError?: (what: string, error: unknown, fields?: ReconcileFields) => void;
  /** Every finished reconcile, for metrics. */
  onReconciled?: NonNullable<ResourceControllerOptions["onReconciled"]>;
}

export interface RunningControllers {
  /** Stops every watch and waits for running reconciles to finish. */
  stop(): Promise<void>;
}

export async function startControllers(
  kubeConfig: KubeConfig,
  options: ControllerOptions = {},
): Promise<RunningControllers> {
  const { namespace, resyncMs, queue, onError, onReconciled } = options;
  // One recorder, so its repeat filter covers every kind.
  const events =
    options.events ??
    new EventRecorder(kubeConfig, {
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(onError === undefined ? {} : { onError }),
    });
  const reconcilerOptions = { ...options, events };
  const pool = new InformerPool(kubeConfig, {
    ...(namespace === undefined ? {} : { namespace }),
    ...(onError === undefined ? {} : { onError }),
  });
  const controllerOptions = {
    ...(resyncMs === undefined ? {} : { resyncMs }),
    ...(queue === undefined ? {} : { queue }),
    ...(onError === undefined ? {} : { onError }),
    ...(onReconciled === undefined ? {} : { onReconciled }),
  };
  const agentEndpoints = new AgentEndpointReconciler(kubeConfig, reconcilerOptions);
  const controllers = [
    messageDomainDefinition(new MessageDomainReconciler(kubeConfig, reconcilerOptions)),
    gatewayDefinition(new GatewayReconciler(kubeConfig, reconcilerOptions)),
    agentEndpointDefinition(agentEndpoints),
  ].map((definition) => new ResourceController(pool, definition, controllerOptions));
  try {
    await pool.start();
  } catch (error) {
    await pool.stop();
    await agentEndpoints.close();
    throw error;
  }
  for (const controller of controllers) controller.start();
  return {
    stop: async () => {
      await pool.stop();
      await Promise.all(controllers.map((controller) => controller.stop()));
      // After the reconciles: they may still be reading queues.
      await agentEndpoints.close();
    },
  };
}
