import type { z } from "zod";
import { stringify } from "yaml";
import {
  AGENT_ENDPOINT_KIND,
  AGENT_ENDPOINT_PLURAL,
  agentEndpointSpecSchema,
  agentEndpointStatusSchema,
} from "../../core/crds/agent-endpoint.js";
import { CRD_GROUP, CRD_VERSION } from "../../core/crds/common.js";
import {
  GATEWAY_KIND,
  GATEWAY_PLURAL,
  GATEWAY_SINGULAR,
  gatewaySpecSchema,
  gatewayStatusSchema,
} from "../../core/crds/gateway.js";
import {
  MESSAGE_DOMAIN_KIND,
  MESSAGE_DOMAIN_PLURAL,
  messageDomainSpecSchema,
  messageDomainStatusSchema,
} from "../../core/crds/message-domain.js";
import { toStructuralSchema, type JSONSchemaProps } from "./crd-schema.js";
import type { CustomResourceDefinition, PrinterColumn } from "../k8s-types.js";

export const CRD_CATEGORY = "beastmode";

interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
  scale: boolean;
  /** CEL rules on the whole object (they may read `self.metadata.name`). */
  rootValidations?: NonNullable<JSONSchemaProps["x-kubernetes-validations"]>;
}

const READY: PrinterColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const REASON: PrinterColumn = {
  name: "Reason",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  priority: 1,
};
/** As `kubectl get deployment` shows them: desired, up to date, available (not surge pods, not merely ready). */
const REPLICA_COLUMNS: PrinterColumn[] = [
  { name: "Replicas", type: "integer", jsonPath: ".status.desiredReplicas" },
  { name: "Up-to-date", type: "integer", jsonPath: ".status.updatedReplicas" },
  { name: "Available", type: "integer", jsonPath: ".status.availableReplicas" },
];
const AGE: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

export const KINDS: readonly KindDefinition[] = [
  {
    kind: MESSAGE_DOMAIN_KIND,
    plural: MESSAGE_DOMAIN_PLURAL,
    singular: "messagedomain",
    shortNames: ["md", "bmd"],
    description:
      "A routing, storage and security boundary: one store, delivery defaults, a DLQ and a boundary policy.",
    spec: messageDomainSpecSchema,
    status: messageDomainStatusSchema,
    columns: [
      { name: "Store", type: "string", jsonPath: ".spec.store.type" },
      READY,
      REASON,
      { name: "Endpoint", type: "string", jsonPath: ".status.store.endpoint", priority: 1 },
      { name: "Reachable", type: "boolean", jsonPath: ".status.store.reachable", priority: 1 },
      { name: "Probed", type: "date", jsonPath: ".status.store.lastProbeTime", priority: 1 },
      AGE,
    ],
    scale: false,
    rootValidations: [
      {
        // The resource's name is the domain in agent addresses (`agent@domain`), so it must be a DNS label.
        rule: "size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
        message:
          "metadata.name must be a lowercase DNS label of at most 63 characters (it is the domain name)",
        // No fieldPath: the apiserver only accepts paths its schema declares, and metadata's are implicit.
        reason: "FieldValueInvalid",
      },
    ],
  },
  {
    kind: GATEWAY_KIND,
    plural: GATEWAY_PLURAL,
    singular: GATEWAY_SINGULAR,
    // Not `gateway`/`gw`: the Kubernetes Gateway API owns those names.
    shortNames: ["bgw"],
    description:
      "The nodes that connect a domain to its peer domains, forwarding batches from a durable outbox.",
    spec: gatewaySpecSchema,
    status: gatewayStatusSchema,
    columns: [
      { name: "Domain", type: "string", jsonPath: ".spec.domain" },
      ...REPLICA_COLUMNS,
      READY,
      REASON,
      { name: "Peers", type: "string", jsonPath: ".status.peers[*].name", priority: 1 },
      { name: "Links", type: "string", jsonPath: ".status.peers[*].state", priority: 1 },
      AGE,
    ],
    scale: true,
  },
  {
    kind: AGENT_ENDPOINT_KIND,
    plural: AGENT_ENDPOINT_PLURAL,
    singular: "agentendpoint",
    shortNames: ["ae", "bae"],
    description:
      "One agent's deployment: its pod template with the sidecar injected, subscriptions and scaling.",
    spec: agentEndpointSpecSchema,
    status: agentEndpointStatusSchema,
    columns: [
      { name: "Agent", type: "string", jsonPath: ".spec.agent" },
      { name: "Domain", type: "string", jsonPath: ".spec.domain" },
      ...REPLICA_COLUMNS,
      READY,
      REASON,
      { name: "Queue", type: "integer", jsonPath: ".status.queue.depth", priority: 1 },
      { name: "In-flight", type: "integer", jsonPath: ".status.queue.inFlight", priority: 1 },
      AGE,
    ],
    scale: true,
  },
];

/** The root schema of one kind: apiVersion, kind, metadata, spec and status. */
function rootSchema(definition: KindDefinition): JSONSchemaProps {
  const spec = toStructuralSchema(definition.spec);
  const status = toStructuralSchema(definition.status);
  // A spec whose fields all default may be omitted; it then defaults to {} so its fields default too.
  const specOptional = spec.required === undefined || spec.required.length === 0;
  return {
    description: definition.description,
    type: "object",
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      // kubectl explain shows the standard docs of these three (the apiserver refuses more than a type on metadata).
      metadata: { type: "object" },
      spec: {
        description: `The desired state of the ${definition.kind}.`,
        ...spec,
        ...(specOptional ? { default: {} } : {}),
      },
      status: { description: "What the operator observed; written by the operator only.", ...status },
    },
    ...(specOptional ? {} : { required: ["spec"] }),
    ...(definition.rootValidations === undefined
      ? {}
      : { "x-kubernetes-validations": definition.rootValidations }),
  };
}

export function buildCrd(definition: KindDefinition): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${definition.plural}.${CRD_GROUP}`,
      labels: { "app.kubernetes.io/part-of": "beast-mode-network" },
    },
    spec: {
      group: CRD_GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: definition.shortNames,
        categories: [CRD_CATEGORY],
      },
      scope: "Namespaced",
      versions: [
        {
          name: CRD_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(definition) },
          subresources: {
            status: {},
            ...(definition.scale
              ? {
                  scale: {
                    specReplicasPath: ".spec.replicas",
                    statusReplicasPath: ".status.replicas",
                    labelSelectorPath: ".status.selector",
                  },
                }
              : {}),
          },
          additionalPrinterColumns: definition.columns,
        },
      ],
    },
  };
}

export const CRD_HEADER = [
  "# Generated by operator/generate/generate-crds.ts from the zod schemas in core/crds/. Do not edit by hand:",
  "# change the schemas and run `npm run generate`.",
].join("\n");

/** Every CRD file under `crds/`, by file name, as its exact text. */
export function renderCrdFiles(): { file: string; text: string }[] {
  return KINDS.map((definition) => ({
    file: `${CRD_GROUP}_${definition.plural}.yaml`,
    text: `${CRD_HEADER}\n${stringify(buildCrd(definition), { lineWidth: 0, aliasDuplicateObjects: false })}`,
  }));
}
