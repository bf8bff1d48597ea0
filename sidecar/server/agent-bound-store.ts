import type { Message } from "../../core/envelope.js";
import { BmnError } from "../../core/errors.js";
import { splitAddress, type AgentAddress } from "../../core/names.js";
import { parseLeaseId } from "../../store/lease-id.js";
import type { DeadLetterFilter, MessageStore } from "../../store/store.js";

/** The store's calls (its methods, not `kind` and `durable`). */
type StoreCall = {
  [K in keyof MessageStore]: MessageStore[K] extends (...args: never[]) => unknown ? K : never;
}[keyof MessageStore];

/** The private inbox a `/v1/requests` call waits on (message-routes.ts); only this sidecar knows its name. */
const REPLY_INBOX = /^reply-[0-9a-f]{20}$/;

/**
 * The agents a sidecar serves, and the one check every agent-scoped operation goes through. A sidecar bound to
 * its agents (config `agents`, `BMN_AGENT`) acts for no other: this is what keeps one pod's agent from reading,
 * settling or purging another's messages, or sending in its name.
 */
export class AgentBinding {
  private readonly agents: ReadonlySet<string>;

  constructor(
    agents: readonly string[],
    private readonly domain: string,
  ) {
    this.agents = new Set(agents);
  }

  /** Throws 403 FORBIDDEN unless `agent` is one this sidecar serves. */
  check(agent: unknown, field: string): void {
    if (typeof agent === "string" && this.agents.has(agent)) return;
    throw new BmnError("FORBIDDEN", `this sidecar acts only for ${this.list()}, not for ${String(agent)}`, {
      field,
    });
  }

  /** The sender to stamp: the given `from` when it is a served agent of this domain, else the only agent. */
  sender(from: AgentAddress | undefined): AgentAddress {
    if (from === undefined) {
      const [only, ...others] = this.agents;
      if (only !== undefined && others.length === 0) return only as AgentAddress;
      throw new BmnError("FORBIDDEN", `from is required: this sidecar sends for ${this.list()}`, {
        field: "from",
      });
    }
    const { name, domain } = splitAddress(from);
    if (domain !== undefined && domain !== this.domain)
      throw new BmnError("FORBIDDEN", `from must be an agent of this domain (${this.domain})`, {
        field: "from",
      });
    this.check(name, "from");
    return from;
  }

  /** The agent a DLQ filter names; with one served agent an unnamed filter means that agent. */
  deadLetterAgent(agent: string | undefined): string {
    if (agent === undefined) {
      const [only, ...others] = this.agents;
      if (only !== undefined && others.length === 0) return only;
      throw new BmnError("FORBIDDEN", `agent is required: this sidecar acts for ${this.list()}`, {
        field: "agent",
      });
    }
    this.check(agent, "agent");
    return agent;
  }

  private list(): string {
    return [...this.agents].join(", ");
  }
}

/**
 * The store as a bound sidecar's routes see it: every call that names an agent, a lease or a sender is checked
 * against the binding (403 FORBIDDEN, naming the field). Wrapping the store, not each route, covers HTTP and
 * WebSocket alike and every route added later. Calls not listed here pass through unchanged.
 */
export function bindStoreToAgents(store: MessageStore, binding: AgentBinding): MessageStore {
  const receiver = (agent: unknown, field: string): void => {
    if (typeof agent === "string" && REPLY_INBOX.test(agent)) return;
    binding.check(agent, field);
  };
  const leaseHolder = (leaseId: unknown): void => {
    let agent: string;
    try {
      agent = parseLeaseId(leaseId).agent;
    } catch {
      return; // Malformed: the store answers LEASE_NOT_FOUND as usual.
    }
    receiver(agent, "leaseId");
  };
  const stamped = (message: Message): Message => ({ ...message, from: binding.sender(message.from) });
  const filter = <T extends DeadLetterFilter>(selection: T): T => ({
    ...selection,
    agent: binding.deadLetterAgent(selection.agent),
  });

  // Every store call is listed: a check, or "unbound" where the call names no agent (or reads the whole domain,
  // which only the pod's own containers can reach). A new store call does not compile until it is classified.
  const guarded: { [K in StoreCall]: MessageStore[K] | "unbound" } = {
    enqueue: async (queue, message, options) => store.enqueue(queue, stamped(message), options),
    enqueueMany: async (items, options) =>
      store.enqueueMany(
        items.map((item) => ({ queue: item.queue, message: stamped(item.message) })),
        options,
      ),
    publish: async (topic, message, options) => store.publish(topic, stamped(message), options),
    receive: async (agent, options) => {
      receiver(agent, "agent");
      return store.receive(agent, options);
    },
    ack: async (leaseId, options) => {
      leaseHolder(leaseId);
      return store.ack(leaseId, options);
    },
    ackMany: async (leaseIds, options) => {
      leaseIds.forEach(leaseHolder);
      return store.ackMany(leaseIds, options);
    },
    nack: async (leaseId, options) => {
      leaseHolder(leaseId);
      return store.nack(leaseId, options);
    },
    extendLease: async (leaseId, leaseMs) => {
      leaseHolder(leaseId);
      return store.extendLease(leaseId, leaseMs);
    },
    subscribe: async (agent, pattern) => {
      binding.check(agent, "agent");
      return store.subscribe(agent, pattern);
    },
    unsubscribe: async (agent, pattern) => {
      binding.check(agent, "agent");
      return store.unsubscribe(agent, pattern);
    },
    listSubscriptions: "unbound",
    beginTransaction: "unbound",
    savepoint: "unbound",
    rollbackToSavepoint: "unbound",
    commit: "unbound",
    rollback: "unbound",
    listDeadLetters: async (selection = {}) => store.listDeadLetters(filter(selection)),
    listDeadLetterPage: async (selection = {}) => store.listDeadLetterPage(filter(selection)),
    getDeadLetter: async (agent, id) => {
      binding.check(agent, "agent");
      return store.getDeadLetter(agent, id);
    },
    replayDeadLetters: async (selection, options) => store.replayDeadLetters(filter(selection), options),
    purgeDeadLetters: async (selection) => store.purgeDeadLetters(filter(selection)),
    selectDeadLetters: async (selection, options) => store.selectDeadLetters(filter(selection), options),
    traceOf: "unbound",
    traceByCorrelation: "unbound",
    queueStats: "unbound",
    listQueues: "unbound",
    listQueuePage: "unbound",
    // Message contents: only a bound agent's own queue.
    browseQueue: async (queue, options) => {
      binding.check(queue, "agent");
      return store.browseQueue(queue, options);
    },
    // Only the request route calls it, on the reply inbox it made for its own request.
    deleteQueue: "unbound",
    registerAgent: async (registration) => {
      binding.check(registration.name, "agent");
      return store.registerAgent(registration);
    },
    heartbeat: async (agent, ttlMs) => {
      binding.check(agent, "agent");
      return store.heartbeat(agent, ttlMs);
    },
    deregisterAgent: async (agent) => {
      binding.check(agent, "agent");
      return store.deregisterAgent(agent);
    },
    listAgents: "unbound",
    memoryStatus: "unbound",
    ping: "unbound",
    close: "unbound",
  };
  // The proxy's target is a blank object inheriting from the store, not the store itself: a store may define its
  // calls as read-only own properties (ResilientStore does), which a proxy of it could not replace.
  return new Proxy(Object.create(store) as MessageStore, {
    get(_blank, property) {
      if (typeof property === "string" && Object.hasOwn(guarded, property)) {
        const call = guarded[property as StoreCall];
        if (call !== "unbound") return call;
      }
      const value: unknown = Reflect.get(store, property);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(store) : value;
    },
  });
}
