import { agentEndpointSpecSchema } from "../../core/crds/agent-endpoint.js";
import { CRD_API_VERSION } from "../../core/crds/common.js";
import { agentNameSchema, domainNameSchema } from "../../core/names.js";
import { agentSidecarInjection, injectSidecar } from "../builders/agent-endpoint.js";
import { type BuildOptions, LABEL_AGENT, LABEL_DOMAIN, SIDECAR_CONTAINER_NAME } from "../builders/common.js";
import type { AgentEndpoint, Container, MessageDomain, PodSpec } from "../k8s-types.js";

/**
 * Sidecar injection for pods BMN does not own (docs/injection.md): a pod annotated `beastmode.network/inject:
 * "true"` with `beastmode.network/agent` and `beastmode.network/domain` gets the same native sidecar an
 * AgentEndpoint's pods get, as a JSON Patch the admission webhook returns. Pure: the webhook reads the
 * MessageDomain and passes it in.
 */
export const ANNOTATION_INJECT = "beastmode.network/inject";
export const ANNOTATION_AGENT = LABEL_AGENT;
export const ANNOTATION_DOMAIN = LABEL_DOMAIN;
/** Set on injected pods: which agent of which domain their sidecar serves. */
export const ANNOTATION_INJECTED = "beastmode.network/injected";

/** The parts of a Pod the webhook reads. */
export interface AdmittedPod {
  metadata?: { name?: string; generateName?: string; annotations?: Record<string, string> };
  spec: PodSpec;
}

export type InjectionRequest =
  /** Not asked for, or already done: the pod is admitted unchanged. */
  | { action: "skip"; reason: string }
  /** Asked for with annotations that cannot work: the pod is refused, naming the annotation. */
  | { action: "refuse"; message: string }
  | { action: "inject"; agent: string; domain: string };

const hasSidecar = (containers: readonly Container[] | undefined): boolean =>
  (containers ?? []).some((container) => container.name === SIDECAR_CONTAINER_NAME);

/** What the pod's annotations ask for. */
export function injectionRequest(pod: AdmittedPod): InjectionRequest {
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations[ANNOTATION_INJECT] !== "true")
    return { action: "skip", reason: `${ANNOTATION_INJECT} is not "true"` };
  if (hasSidecar(pod.spec.initContainers) || hasSidecar(pod.spec.containers))
    return { action: "skip", reason: `the pod already has a ${SIDECAR_CONTAINER_NAME} container` };
  const agent = agentNameSchema.safeParse(annotations[ANNOTATION_AGENT] ?? "");
  if (!agent.success)
    return {
      action: "refuse",
      message: `annotation ${ANNOTATION_AGENT} must name the agent: a lowercase DNS label (got ${JSON.stringify(annotations[ANNOTATION_AGENT] ?? "")})`,
    };
  const domain = domainNameSchema.safeParse(annotations[ANNOTATION_DOMAIN] ?? "");
  if (!domain.success)
    return {
      action: "refuse",
      message: `annotation ${ANNOTATION_DOMAIN} must name a MessageDomain in the pod's namespace: a lowercase DNS label (got ${JSON.stringify(annotations[ANNOTATION_DOMAIN] ?? "")})`,
    };
  return { action: "inject", agent: agent.data, domain: domain.data };
}

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: "add" | "replace";
  path: string;
  value: unknown;
}

/** `/` and `~` escaped for a JSON Pointer segment (RFC 6901). */
const pointerSegment = (key: string): string => key.replace(/~/g, "~0").replace(/\//g, "~1");

/**
 * The patch that gives the pod the agent's sidecar (the AgentEndpoint builder's, with the domain's config) as
 * its first init container, the domain's config volume, and `BMN_URL`/`BMN_AGENT` in its containers.
 */
export function injectionPatch(
  pod: AdmittedPod,
  request: { agent: string; domain: MessageDomain },
  options: BuildOptions = {},
): JsonPatchOperation[] {
  // The agent's settings as an AgentEndpoint would have them; nothing but the sidecar is taken from it.
  const endpoint: AgentEndpoint = {
    apiVersion: CRD_API_VERSION,
    kind: "AgentEndpoint",
    metadata: { name: request.agent, namespace: request.domain.metadata.namespace, uid: "", generation: 0 },
    spec: agentEndpointSpecSchema.parse({
      domain: request.domain.metadata.name,
      agent: request.agent,
      template: { spec: { containers: pod.spec.containers } },
    }),
  };
  const injected = injectSidecar(
    { spec: pod.spec },
    agentSidecarInjection(endpoint, request.domain, options),
  );
  return [
    { op: "add", path: "/spec/initContainers", value: injected.spec.initContainers },
    { op: "replace", path: "/spec/containers", value: injected.spec.containers },
    { op: "add", path: "/spec/volumes", value: injected.spec.volumes },
    {
      op: "add",
      path: `/metadata/annotations/${pointerSegment(ANNOTATION_INJECTED)}`,
      value: `${request.agent}@${request.domain.metadata.name}`,
    },
  ];
}
