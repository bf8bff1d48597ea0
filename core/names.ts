import { z } from "zod";

/** A lowercase DNS label: agent names and domain names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_LABEL_MAX = 63;

export const agentNameSchema = z
  .string()
  .max(DNS_LABEL_MAX, { error: `must be at most ${DNS_LABEL_MAX} characters` })
  .regex(DNS_LABEL, {
    error: "must be a lowercase DNS label: a-z, 0-9 and '-', not starting or ending with '-'",
  })
  .brand<"AgentName">();
export type AgentName = z.infer<typeof agentNameSchema>;

export const domainNameSchema = z
  .string()
  .max(DNS_LABEL_MAX, { error: `must be at most ${DNS_LABEL_MAX} characters` })
  .regex(DNS_LABEL, {
    error: "must be a lowercase DNS label: a-z, 0-9 and '-', not starting or ending with '-'",
  })
  .brand<"DomainName">();
export type DomainName = z.infer<typeof domainNameSchema>;

/**
 * The outbox of a remote domain: the local queue a sidecar puts messages for `name@<domain>` in, from which that
 * domain's gateway forwards them. `bmn.out.<domain>`: the dots keep it apart from every agent name (agent names
 * are DNS labels), so users cannot address or read an outbox through the agent API.
 */
export const OUTBOX_QUEUE_PREFIX = "bmn.out.";
export const OUTBOX_QUEUE_MAX = OUTBOX_QUEUE_PREFIX.length + DNS_LABEL_MAX;
export type OutboxQueueName = string & z.$brand<"OutboxQueueName">;

/**
 * The durable outbox of A2A push notifications (sidecar/a2a/push-dispatcher.ts): dotted like the domain
 * outboxes, so no agent name can be it, and not `bmn.out.` (no gateway forwards it).
 */
export const A2A_QUEUE_PREFIX = "bmn.a2a.";
export const A2A_PUSH_QUEUE = `${A2A_QUEUE_PREFIX}push` as OutboxQueueName;

/** A queue a store holds: an agent's own queue, or the outbox of a remote domain. */
export type QueueName = AgentName | OutboxQueueName;

export function outboxQueueName(domain: DomainName): OutboxQueueName {
  return `${OUTBOX_QUEUE_PREFIX}${domain}` as OutboxQueueName;
}

export function isOutboxQueue(name: string): name is OutboxQueueName {
  return outboxDomain(name) !== undefined;
}

/** The remote domain an outbox queue name stands for, or undefined when `name` is not an outbox queue name. */
export function outboxDomain(name: string): DomainName | undefined {
  if (!name.startsWith(OUTBOX_QUEUE_PREFIX)) return undefined;
  const domain = name.slice(OUTBOX_QUEUE_PREFIX.length);
  return domain.length <= DNS_LABEL_MAX && DNS_LABEL.test(domain) ? (domain as DomainName) : undefined;
}

/** An agent name or an outbox queue name: what a store accepts wherever it takes a queue. */
export const queueNameSchema = z.custom<QueueName>(
  (value) =>
    typeof value === "string" &&
    ((value.length <= DNS_LABEL_MAX && DNS_LABEL.test(value)) ||
      isOutboxQueue(value) ||
      value === A2A_PUSH_QUEUE),
  { error: "must be a lowercase DNS label (an agent name) or bmn.out.<domain> (an outbox)" },
);

/** `name@domain`, or `name` alone inside its own domain. */
export const agentAddressSchema = z
  .string()
  .refine(
    (value) => {
      const [name, domain, ...rest] = value.split("@");
      return (
        rest.length === 0 &&
        name !== undefined &&
        name.length <= DNS_LABEL_MAX &&
        DNS_LABEL.test(name) &&
        (domain === undefined || (domain.length <= DNS_LABEL_MAX && DNS_LABEL.test(domain)))
      );
    },
    { error: "must be an agent address: name or name@domain, each a lowercase DNS label" },
  )
  .brand<"AgentAddress">();
export type AgentAddress = z.infer<typeof agentAddressSchema>;

export interface ParsedAddress {
  name: AgentName;
  domain: DomainName | undefined;
}

export function splitAddress(address: AgentAddress): ParsedAddress {
  const [name, domain] = address.split("@");
  return { name: name as AgentName, domain: domain as DomainName | undefined };
}

/**
 * Topics are dot-separated segments of letters, digits, '_' and '-'.
 * Patterns add '*' (exactly one segment) and '#' (zero or more segments), each as a whole segment.
 */
const TOPIC_SEGMENT_SOURCE = "[A-Za-z0-9_-]{1,64}";
const PATTERN_SEGMENT_SOURCE = `(${TOPIC_SEGMENT_SOURCE}|\\*|#)`;
/** A whole topic as a regular-expression source, for the CRDs' OpenAPI `pattern`s. */
export const TOPIC_REGEX_SOURCE = `^${TOPIC_SEGMENT_SOURCE}(\\.${TOPIC_SEGMENT_SOURCE})*$`;
/** A whole topic pattern as a regular-expression source, for the CRDs' OpenAPI `pattern`s. */
export const TOPIC_PATTERN_REGEX_SOURCE = `^${PATTERN_SEGMENT_SOURCE}(\\.${PATTERN_SEGMENT_SOURCE})*$`;
const TOPIC_SEGMENT = new RegExp(`^${TOPIC_SEGMENT_SOURCE}$`);
const TOPIC_MAX = 255;

export const topicSchema = z
  .string()
  .max(TOPIC_MAX, { error: `must be at most ${TOPIC_MAX} characters` })
  .refine((value) => value.split(".").every((segment) => TOPIC_SEGMENT.test(segment)), {
    error: "must be dot-separated segments of letters, digits, '_' or '-'",
  })
  .brand<"Topic">();
export type Topic = z.infer<typeof topicSchema>;

export const topicPatternSchema = z
  .string()
  .max(TOPIC_MAX, { error: `must be at most ${TOPIC_MAX} characters` })
  .refine(
    (value) =>
      value.split(".").every((segment) => segment === "*" || segment === "#" || TOPIC_SEGMENT.test(segment)),
    { error: "must be dot-separated segments of letters, digits, '_' or '-', or the wildcards '*' and '#'" },
  )
  .brand<"TopicPattern">();
export type TopicPattern = z.infer<typeof topicPatternSchema>;

/** Capabilities an agent advertises for discovery, e.g. `code-review` or `python`. */
export const capabilitySchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, { error: "must be letters, digits, '_', '.', ':' or '-'" });
