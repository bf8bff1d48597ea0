import { describe, expect, it } from "vitest";
import { messageDomainSpecSchema } from "../../core/crds/message-domain.js";
import { buildAgentEndpointChildren } from "../../operator/builders/agent-endpoint.js";
import { agentEndpointSpecSchema } from "../../core/crds/agent-endpoint.js";
import type { AgentEndpoint, MessageDomain } from "../../operator/k8s-types.js";
import {
  injectionPatch,
  injectionRequest,
  type AdmittedPod,
  type JsonPatchOperation,
} from "../../operator/webhook/injection-patch.js";
import { admit, admissionRequestOf } from "../../operator/webhook/injection-webhook-server.js";

// The injection webhook's pure parts: what a pod's annotations ask for, the JSON Patch, and the admission answer.

const domain: MessageDomain = {
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: { name: "team-a", namespace: "apps", uid: "uid-team-a", generation: 1 },
  spec: messageDomainSpecSchema.parse({
    store: { type: "redis", connection: { secretRef: { name: "redis", key: "url" } } },
  }),
};

const ANNOTATED = {
  "beastmode.network/inject": "true",
  "beastmode.network/agent": "billing",
  "beastmode.network/domain": "team-a",
};

function pod(annotations: Record<string, string>, extra: Partial<AdmittedPod["spec"]> = {}): AdmittedPod {
  return {
    metadata: { generateName: "billing-7d9f-", annotations },
    spec: {
      containers: [{ name: "app", image: "example/billing:1", env: [{ name: "BMN_URL", value: "mine" }] }],
      volumes: [{ name: "data", emptyDir: {} }],
      ...extra,
    },
  };
}

/** Applies the operations the builder emits (add or replace of an object member, as RFC 6902 defines them). */
function apply(target: AdmittedPod, patch: JsonPatchOperation[]): AdmittedPod {
  const copy = structuredClone(target) as unknown as Record<string, unknown>;
  for (const op of patch) {
    const segments = op.path
      .slice(1)
      .split("/")
      .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = segments.pop() ?? "";
    let holder = copy;
    for (const segment of segments) holder = holder[segment] as Record<string, unknown>;
    if (op.op === "replace" && !(last in holder)) throw new Error(`replace of missing ${op.path}`);
    holder[last] = op.value;
  }
  return copy as unknown as AdmittedPod;
}

describe("what a pod's annotations ask for", () => {
  it('injects only with inject: "true", an agent and a domain; leaves a pod with the sidecar alone', () => {
    expect(injectionRequest(pod({}))).toMatchObject({ action: "skip" });
    expect(injectionRequest(pod({ ...ANNOTATED, "beastmode.network/inject": "yes" }))).toMatchObject({
      action: "skip",
    });
    expect(injectionRequest(pod(ANNOTATED))).toEqual({
      action: "inject",
      agent: "billing",
      domain: "team-a",
    });
    const injected = pod(ANNOTATED, { initContainers: [{ name: "bmn-sidecar", image: "x" }] });
    expect(JSON.stringify(injectionRequest(injected))).toMatch(/"action":"skip".*already has/);
  });

  it("refuses a missing or invalid agent or domain, naming the annotation", () => {
    const noAgent = injectionRequest(
      pod({ "beastmode.network/inject": "true", "beastmode.network/domain": "a" }),
    );
    expect(JSON.stringify(noAgent)).toMatch(/"action":"refuse".*annotation beastmode.network\/agent/);
    const badDomain = injectionRequest(pod({ ...ANNOTATED, "beastmode.network/domain": "Team_A" }));
    expect(JSON.stringify(badDomain)).toMatch(/"action":"refuse".*annotation beastmode.network\/domain/);
  });
});

describe("the injection patch", () => {
  it("adds the same native sidecar an AgentEndpoint's pods get, the domain's volume and the agent's env", () => {
    const original = pod(ANNOTATED);
    const patched = apply(
      original,
      injectionPatch(original, { agent: "billing", domain }, { defaultImage: "bmn:1" }),
    );
    const endpoint: AgentEndpoint = {
      apiVersion: "beastmode.network/v1alpha1",
      kind: "AgentEndpoint",
      metadata: { name: "billing", namespace: "apps", uid: "u", generation: 1 },
      spec: agentEndpointSpecSchema.parse({
        domain: "team-a",
        agent: "billing",
        template: { spec: { containers: original.spec.containers } },
      }),
    };
    const rendered = buildAgentEndpointChildren(endpoint, domain, { defaultImage: "bmn:1" }).deployment.spec
      .template;
    expect(patched.spec.initContainers).toEqual(rendered.spec.initContainers);
    expect(patched.spec.initContainers?.[0]).toMatchObject({
      name: "bmn-sidecar",
      restartPolicy: "Always",
      image: "bmn:1",
    });
    expect(patched.spec.volumes?.map((v) => v.name)).toEqual([
      "data",
      ...(rendered.spec.volumes ?? []).map((v) => v.name),
    ]);
    const env = patched.spec.containers[0]?.env ?? [];
    // The app's own BMN_URL wins; BMN_AGENT is added.
    expect(env).toContainEqual({ name: "BMN_URL", value: "mine" });
    expect(env).toContainEqual({ name: "BMN_AGENT", value: "billing" });
    expect(patched.metadata?.annotations?.["beastmode.network/injected"]).toBe("billing@team-a");
    // Injecting the patched pod again is not asked for: it has the sidecar.
    expect(injectionRequest(patched)).toMatchObject({ action: "skip" });
  });
});

describe("the admission answer", () => {
  const review = (object: unknown, namespace = "apps") => ({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: { uid: "u-1", namespace, operation: "CREATE", kind: { kind: "Pod" }, object },
  });
  const readDomain = (namespace: string, name: string) =>
    Promise.resolve(namespace === "apps" && name === "team-a" ? domain : undefined);

  function requestOf(body: unknown) {
    const request = admissionRequestOf(body);
    if (typeof request === "string") throw new Error(request);
    return request;
  }

  it("answers a base64 JSON Patch for an annotated pod and nothing for others", async () => {
    const injected = await admit(requestOf(review(pod(ANNOTATED))), { readDomain });
    expect(injected).toMatchObject({ uid: "u-1", allowed: true, patchType: "JSONPatch" });
    const ops = JSON.parse(Buffer.from(injected.patch ?? "", "base64").toString()) as JsonPatchOperation[];
    expect(ops.map((op) => op.path)).toContain("/spec/initContainers");
    expect(await admit(requestOf(review(pod({}))), { readDomain })).toEqual({ uid: "u-1", allowed: true });
  });

  it("refuses an unknown MessageDomain with a message naming it", async () => {
    const answer = await admit(requestOf(review(pod(ANNOTATED), "other")), { readDomain });
    expect(answer).toMatchObject({ allowed: false, status: { code: 400 } });
    expect(answer.status?.message).toMatch(/no MessageDomain team-a in namespace other/);
  });

  it("lets a failure to read the domain through to the caller (the failurePolicy decides)", async () => {
    const failing = () => Promise.reject(new Error("apiserver down"));
    await expect(admit(requestOf(review(pod(ANNOTATED))), { readDomain: failing })).rejects.toThrow(
      "apiserver down",
    );
  });

  it("refuses bodies that are not an AdmissionReview", () => {
    expect(admissionRequestOf(null)).toMatch(/AdmissionReview/);
    expect(
      admissionRequestOf({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: null }),
    ).toMatch(/request.uid/);
    expect(admissionRequestOf({ apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview" })).toMatch(
      /v1/,
    );
    expect(
      admissionRequestOf({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: {} }),
    ).toMatch(/uid/);
  });
});
