import type { z } from "zod";
import type { BmnClient, CallOptions } from "./client.js";
import { describeIssue } from "../core/api/describe-issue.js";
import { BmnClientError } from "./errors.js";
import { MessageStream, type MessagesOptions } from "./message-stream.js";
import type { Message, MessageAttributes, SendResult } from "./types.js";

/** Maps a message `type` to the zod schema of its `data`. */
export type Schemas = Record<string, z.ZodType>;

/** A message whose `data` has been parsed by the schema for its `type`. Switch on `type` to narrow `data`. */
export type TypedMessage<S extends Schemas> = {
  [K in keyof S & string]: Omit<Message, "type" | "data"> & { type: K; data: z.output<S[K]> };
}[keyof S & string];

/** Where a typed message goes and how: `to` or `topic`, plus any other attribute. */
export type TypedSendOptions = Omit<MessageAttributes, "to" | "topic"> &
  ({ to: string; topic?: undefined } | { topic: string; to?: undefined });

/** Renders zod issues as one line: `amount: Invalid input: expected number, received string; ...`. */
export function describeZodError(error: z.ZodError, limit = 400): string {
  const text = error.issues
    .map((issue) => {
      const where = issue.path.map(String).join(".");
      return where === "" ? issue.message : `${where}: ${issue.message}`;
    })
    .join("; ");
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/**
 * Typed, validated payloads (Requirement 5.2). `send` checks `data` against the schema of `type` before anything
 * leaves the process; `messages` parses each received message's `data` and dead-letters (reason `rejected`, with
 * `invalid: <what is wrong>` as the last error) any message whose data fails its schema or whose type has none.
 */
export class TypedClient<S extends Schemas> {
  constructor(
    readonly client: BmnClient,
    readonly schemas: S,
  ) {}

  async send<K extends keyof S & string>(
    type: K,
    data: z.input<S[K]>,
    options: TypedSendOptions,
    call: CallOptions = {},
  ): Promise<SendResult> {
    const parsed = this.check(type, data);
    return this.client.send({ ...attributesOf(options), type, data: parsed }, call);
  }

  async publish<K extends keyof S & string>(
    topic: string,
    type: K,
    data: z.input<S[K]>,
    options: Omit<MessageAttributes, "to" | "topic"> = {},
  ): Promise<SendResult> {
    return this.send(type, data, { ...options, topic });
  }

  /** Parses a message already received some other way; throws BmnClientError INVALID_MESSAGE. */
  parse(message: Message): TypedMessage<S> {
    const result = this.validate(message);
    if (!result.ok) throw new BmnClientError("INVALID_MESSAGE", result.reason, { field: "data" });
    return result.message;
  }

  messages(options: MessagesOptions = {}): MessageStream<TypedMessage<S>> {
    const agent = options.agent ?? this.client.agent;
    if (agent === undefined) {
      throw new BmnClientError(
        "NO_AGENT",
        "no agent name: pass { agent } to messages() or to new BmnClient()",
        {
          field: "agent",
        },
      );
    }
    return new MessageStream<TypedMessage<S>>(this.client.leaseOps(), { ...options, agent }, (message) =>
      this.validate(message),
    );
  }

  private check(type: string, data: unknown): unknown {
    const schema = this.schemas[type];
    if (schema === undefined) {
      throw new BmnClientError("INVALID_MESSAGE", `no schema for message type ${JSON.stringify(type)}`, {
        field: "type",
      });
    }
    const result = schema.safeParse(data);
    if (!result.success) {
      const { field } = describeIssue(result.error.issues[0], { prefix: "data" });
      throw new BmnClientError("INVALID_MESSAGE", `data of ${type}: ${describeZodError(result.error)}`, {
        field,
        cause: result.error,
      });
    }
    return result.data;
  }

  private validate(message: Message): { ok: true; message: TypedMessage<S> } | { ok: false; reason: string } {
    const schema = this.schemas[message.type];
    if (schema === undefined) {
      return { ok: false, reason: `invalid: no schema for message type ${JSON.stringify(message.type)}` };
    }
    const result = schema.safeParse(message.data);
    if (!result.success) return { ok: false, reason: `invalid: ${describeZodError(result.error)}` };
    return { ok: true, message: { ...message, data: result.data } as TypedMessage<S> };
  }
}

/** The attributes without the `undefined` placeholders the to/topic union allows. */
function attributesOf(options: TypedSendOptions): MessageAttributes {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
