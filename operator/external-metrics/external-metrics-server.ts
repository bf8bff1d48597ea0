/**
 * The operator's `external.metrics.k8s.io/v1beta1` API, served over HTTPS to the kube-apiserver's aggregation
 * layer (an APIService points at the operator's Service): the HPA controller asks the apiserver, the apiserver
 * authorizes the caller with RBAC and then proxies the request here with its front-proxy client certificate.
 * This server accepts only connections whose client certificate the cluster's request-header CA signed (and,
 * when the cluster names them, only the allowed common names), so nobody else can ask for queue depths.
 *
 *   GET /apis/external.metrics.k8s.io/v1beta1                                  the metrics (APIResourceList)
 *   GET /apis/external.metrics.k8s.io/v1beta1/namespaces/NS/METRIC?labelSelector=k=v,...   one value
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { closeNow, limitConnections, listenOn } from "../https-listener.js";
import type { TLSSocket } from "node:tls";
import { EXTERNAL_METRIC_NAMES, EXTERNAL_METRICS_GROUP, EXTERNAL_METRICS_VERSION } from "./metric-names.js";
import { MetricUnavailableError, type MetricsSource } from "./store-metrics-source.js";

const GROUP_VERSION = `${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}`;
const PREFIX = `/apis/${GROUP_VERSION}`;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const MAX_SELECTOR_CHARS = 1_024;
const READ_TIMEOUT_MS = 5_000;

export interface ExternalMetricsServerOptions {
  host: string;
  port: number;
  /** The serving certificate and key (PEM); the APIService's caBundle must trust the certificate. */
  cert: Buffer;
  key: Buffer;
  /** The request-header CA (PEM) from kube-system/extension-apiserver-authentication. */
  clientCa: string;
  /** Common names allowed to connect; empty: any the CA signed (as the apiserver itself treats it). */
  allowedNames: readonly string[];
  source: MetricsSource;
  onError?: (error: unknown) => void;
  /** A TLS handshake not finished within this is dropped (default 5 s), so idle sockets hold no slot. */
  handshakeTimeoutMs?: number;
  /** Connections one client address may hold at once (default 32); the apiserver needs a few. */
  maxConnectionsPerAddress?: number;
}

export interface ExternalMetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      code,
    }),
  );
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** `a=b,c==d` into a map; only equality is supported (what an HPA's matchLabels becomes). */
export function parseEqualitySelector(selector: string): Record<string, string> | string {
  if (selector.length > MAX_SELECTOR_CHARS)
    return `labelSelector is longer than ${MAX_SELECTOR_CHARS} characters`;
  const labels: Record<string, string> = {};
  for (const term of selector.split(",")) {
    if (term.trim() === "") continue;
    const match = /^\s*([^=!\s]+)\s*==?\s*([^=!\s]*)\s*$/.exec(term);
    const key = match?.[1];
    const value = match?.[2];
    if (key === undefined || value === undefined || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) {
      return `labelSelector term "${term}" is not key=value (only equality is supported)`;
    }
    labels[key] = value;
  }
  return labels;
}

function resourceList(): unknown {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: GROUP_VERSION,
    resources: EXTERNAL_METRIC_NAMES.map((name) => ({
      name,
      singularName: "",
      namespaced: true,
      kind: "ExternalMetricValueList",
      verbs: ["get"],
    })),
  };
}

function allowed(req: IncomingMessage, names: readonly string[]): boolean {
  // An https server's requests arrive on TLS sockets.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  const socket: TLSSocket = req.socket as TLSSocket;
  if (!socket.authorized) return false;
  if (names.length === 0) return true;
  const subject = socket.getPeerCertificate().subject as { CN?: unknown } | undefined;
  const cn = subject?.CN;
  return typeof cn === "string" && names.includes(cn);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ExternalMetricsServerOptions,
): Promise<void> {
  if (!allowed(req, options.allowedNames)) {
    status(res, 403, "Forbidden", "only the kube-apiserver's front proxy may call this API");
    return;
  }
  if (req.method !== "GET") {
    status(res, 405, "MethodNotAllowed", "only GET is served");
    return;
  }
  const url = new URL(req.url ?? "/", "https://operator.invalid");
  const path = url.pathname.replace(/\/+$/, "");
  if (path === PREFIX) {
    json(res, resourceList());
    return;
  }
  const match = new RegExp(`^${PREFIX}/namespaces/([^/]+)/([^/]+)$`).exec(path);
  const namespace = match?.[1];
  const metricName = match?.[2];
  if (namespace === undefined || metricName === undefined) {
    status(res, 404, "NotFound", `no route ${path}`);
    return;
  }
  if (!DNS_LABEL.test(namespace)) {
    status(res, 400, "BadRequest", "namespace must be a DNS label");
    return;
  }
  if (!EXTERNAL_METRIC_NAMES.includes(metricName)) {
    status(res, 404, "NotFound", `no metric ${metricName}; served: ${EXTERNAL_METRIC_NAMES.join(", ")}`);
    return;
  }
  const selector = parseEqualitySelector(url.searchParams.get("labelSelector") ?? "");
  if (typeof selector === "string") {
    status(res, 400, "BadRequest", selector);
    return;
  }
  try {
    const { value, labels } = await options.source.read(namespace, metricName, selector);
    json(res, {
      kind: "ExternalMetricValueList",
      apiVersion: GROUP_VERSION,
      metadata: {},
      items: [
        { metricName, metricLabels: labels, timestamp: new Date().toISOString(), value: String(value) },
      ],
    });
  } catch (error) {
    if (error instanceof MetricUnavailableError) {
      const reason = { 400: "BadRequest", 404: "NotFound", 503: "ServiceUnavailable" }[error.status];
      status(res, error.status, reason, error.message);
      return;
    }
    options.onError?.(error);
    // A store error answers an error: the HPA keeps the current count until the store answers again.
    status(res, 503, "ServiceUnavailable", `the domain's store did not answer: ${(error as Error).message}`);
  }
}

export async function startExternalMetricsServer(
  options: ExternalMetricsServerOptions,
): Promise<ExternalMetricsServer> {
  const server: Server = createServer(
    {
      cert: options.cert,
      key: options.key,
      ca: options.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: options.handshakeTimeoutMs ?? READ_TIMEOUT_MS,
      headersTimeout: READ_TIMEOUT_MS,
      requestTimeout: READ_TIMEOUT_MS * 2,
    },
    (req, res) => {
      handle(req, res, options).catch((error: unknown) => {
        options.onError?.(error);
        if (!res.headersSent) status(res, 500, "InternalError", "internal error");
      });
    },
  );
  limitConnections(server, options.maxConnectionsPerAddress);
  const port = await listenOn(server, options.port, options.host);
  return {
    port,
    close: () => closeNow(server),
  };
}
