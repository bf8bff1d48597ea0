/**
 * The operator's mutating admission webhook for sidecar injection, served over HTTPS to the kube-apiserver
 * (a MutatingWebhookConfiguration points at the operator's Service):
 *
 *   POST /mutate-pods   an admission.k8s.io/v1 AdmissionReview of a Pod CREATE; answers the review with a
 *                       JSON Patch (inject), unchanged (skip) or refused (annotations that cannot work)
 *
 * It only computes a patch for what the apiserver sends; it reads nothing but the MessageDomain the pod names.
 * An error reading that answers 503, so the webhook's failurePolicy decides (docs/injection.md).
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { closeNow, limitConnections, listenOn } from "../https-listener.js";
import { BuildError, type BuildOptions } from "../builders/common.js";
import type { MessageDomain } from "../k8s-types.js";
import { injectionPatch, injectionRequest, type AdmittedPod } from "./injection-patch.js";

export const INJECTION_PATH = "/mutate-pods";
/** etcd keeps an object at most 1.5 MiB; an AdmissionReview of a Pod never comes near 2. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
/**
 * Reviews read at once: anyone who can reach the pod can send bodies, and 256 connections of 2 MiB would not fit
 * the operator's memory. The apiserver retries a 503 within its timeout, and failurePolicy decides after.
 */
const MAX_IN_FLIGHT = 16;
const READ_TIMEOUT_MS = 10_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface InjectionWebhookServerOptions {
  host: string;
  port: number;
  /** Serving certificate and key (PEM); the webhook configuration's caBundle must trust the certificate. */
  cert: string;
  key: string;
  /** The MessageDomain `name` in `namespace`, undefined when there is none; throws when it cannot be read. */
  readDomain(namespace: string, name: string): Promise<MessageDomain | undefined>;
  buildOptions?: BuildOptions;
  /** Called for every decision (injected, refused) and every failure, for the logs. */
  onDecision?: (decision: { namespace: string; pod: string; outcome: string; detail?: string }) => void;
  onError?: (error: unknown) => void;
}

export interface InjectionWebhookServer {
  readonly port: number;
  /** Serves a renewed certificate to new connections. */
  setCertificate(cert: string, key: string): void;
  close(): Promise<void>;
}

interface AdmissionRequest {
  uid: string;
  namespace?: string;
  operation?: string;
  kind?: { kind?: string };
  object?: unknown;
}

/** The AdmissionReview's request, or why the body is not one. */
export function admissionRequestOf(body: unknown): AdmissionRequest | string {
  if (typeof body !== "object" || body === null) return "body must be an AdmissionReview object";
  const review = body as { apiVersion?: unknown; kind?: unknown; request?: unknown };
  if (review.apiVersion !== "admission.k8s.io/v1" || review.kind !== "AdmissionReview")
    return "body must be an admission.k8s.io/v1 AdmissionReview";
  // `request: null` is an object to typeof: the cast says what JSON can hold.
  const request = review.request as Partial<AdmissionRequest> | null | undefined;
  if (
    typeof request !== "object" ||
    request === null ||
    typeof request.uid !== "string" ||
    request.uid === ""
  )
    return "AdmissionReview.request.uid is required";
  return request as AdmissionRequest;
}

function isPod(object: unknown): object is AdmittedPod {
  if (typeof object !== "object" || object === null) return false;
  const spec = (object as { spec?: unknown }).spec;
  return (
    typeof spec === "object" && spec !== null && Array.isArray((spec as { containers?: unknown }).containers)
  );
}

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: "JSONPatch";
  patch?: string;
  status?: { code: number; message: string };
}

/** The decision for one request; throws only when the MessageDomain cannot be read. */
export async function admit(
  request: AdmissionRequest,
  options: Pick<InjectionWebhookServerOptions, "readDomain" | "buildOptions" | "onDecision">,
): Promise<AdmissionResponse> {
  const allow: AdmissionResponse = { uid: request.uid, allowed: true };
  const pod = request.object;
  const namespace = request.namespace ?? "";
  if (request.kind?.kind !== "Pod" || request.operation !== "CREATE" || !isPod(pod)) return allow;
  const podName = pod.metadata?.name ?? `${pod.metadata?.generateName ?? ""}*`;
  const refuse = (message: string): AdmissionResponse => {
    options.onDecision?.({ namespace, pod: podName, outcome: "refused", detail: message });
    return {
      uid: request.uid,
      allowed: false,
      status: { code: 400, message: `BMN sidecar injection: ${message}` },
    };
  };
  const wanted = injectionRequest(pod);
  if (wanted.action === "skip") return allow;
  if (wanted.action === "refuse") return refuse(wanted.message);
  if (!DNS_LABEL.test(namespace)) return refuse("the request names no namespace");
  const domain = await options.readDomain(namespace, wanted.domain);
  if (domain === undefined)
    return refuse(
      `no MessageDomain ${wanted.domain} in namespace ${namespace} (annotation beastmode.network/domain)`,
    );
  try {
    const patch = injectionPatch(pod, { agent: wanted.agent, domain }, options.buildOptions);
    options.onDecision?.({
      namespace,
      pod: podName,
      outcome: "injected",
      detail: `${wanted.agent}@${wanted.domain}`,
    });
    return { ...allow, patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") };
  } catch (error) {
    if (error instanceof BuildError) return refuse(`MessageDomain ${wanted.domain}: ${error.message}`);
    throw error;
  }
}

function reply(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reviews being read or answered now, by one listener. */
interface Gate {
  inFlight: number;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: InjectionWebhookServerOptions,
  gate: Gate,
): Promise<void> {
  const path = new URL(req.url ?? "/", "https://operator.invalid").pathname;
  if (path !== INJECTION_PATH) {
    reply(res, 404, { message: `no route ${path}; the webhook is POST ${INJECTION_PATH}` });
    return;
  }
  if (req.method !== "POST") {
    reply(res, 405, { message: "only POST is served" });
    return;
  }
  if (gate.inFlight >= MAX_IN_FLIGHT) {
    reply(res, 503, { message: `${String(MAX_IN_FLIGHT)} reviews are under way; try again` });
    return;
  }
  gate.inFlight++;
  try {
    await review(req, res, options);
  } finally {
    gate.inFlight--;
  }
}

async function review(
  req: IncomingMessage,
  res: ServerResponse,
  options: InjectionWebhookServerOptions,
): Promise<void> {
  const text = await readBody(req);
  if (text === undefined) {
    reply(res, 413, { message: `the AdmissionReview is larger than ${MAX_BODY_BYTES} bytes` });
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    reply(res, 400, { message: "body must be JSON" });
    return;
  }
  const request = admissionRequestOf(body);
  if (typeof request === "string") {
    reply(res, 400, { message: request });
    return;
  }
  try {
    const response = await admit(request, options);
    reply(res, 200, { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
  } catch (error) {
    options.onError?.(error);
    // The call fails: the webhook's failurePolicy decides whether the pod is created without the sidecar.
    reply(res, 503, { message: `the MessageDomain could not be read: ${(error as Error).message}` });
  }
}

export async function startInjectionWebhookServer(
  options: InjectionWebhookServerOptions,
): Promise<InjectionWebhookServer> {
  const gate: Gate = { inFlight: 0 };
  const server: Server = createServer(
    {
      cert: options.cert,
      key: options.key,
      handshakeTimeout: READ_TIMEOUT_MS,
      headersTimeout: READ_TIMEOUT_MS,
      requestTimeout: READ_TIMEOUT_MS * 2,
    },
    (req, res) => {
      handle(req, res, options, gate).catch((error: unknown) => {
        options.onError?.(error);
        if (!res.headersSent) reply(res, 500, { message: "internal error" });
      });
    },
  );
  limitConnections(server);
  const port = await listenOn(server, options.port, options.host);
  return {
    port,
    setCertificate(cert, key) {
      server.setSecureContext({ cert, key });
    },
    close: () => closeNow(server),
  };
}
