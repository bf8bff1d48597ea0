import type { IncomingHttpHeaders } from "node:http";
import { decimalInteger } from "../../core/api/common.js";
import { createMessage, type Message } from "../../core/envelope.js";
import { BmnError, ValidationError } from "../../core/errors.js";

const JSON_TYPES = /^application\/(cloudevents\+json|json|[a-z0-9.+-]*\+json)\b/i;
const CE_HEADER = /^ce-(.+)$/;
const NUMERIC_ATTRIBUTES = new Set(["priority"]);

export interface MessageDefaults {
  source: string;
  maxBytes: number;
}

/**
 * Builds a message from an HTTP request in any of the CloudEvents HTTP modes: structured
 * (`application/cloudevents+json`), a plain JSON object with the same fields, or binary (`ce-*` headers, body as data).
 */
export function messageFromRequest(
  headers: IncomingHttpHeaders,
  body: unknown,
  defaults: MessageDefaults,
): Message {
  const ceHeaders = Object.keys(headers).filter((name) => CE_HEADER.test(name));
  if (ceHeaders.length > 0) return binaryMessage(headers, ceHeaders, body, defaults);
  if (typeof body !== "object" || body === null || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw new ValidationError(
      "body must be a JSON object (a CloudEvent), or use binary mode with ce-* headers",
    );
  }
  return withoutHopHistory(
    createMessage(body as Record<string, unknown>, {
      source: defaults.source,
      maxBytes: defaults.maxBytes,
    }),
  );
}

/**
 * `bmnvia` is the domains a message crossed, appended by gateways only: whatever an agent writes there is dropped,
 * so no agent can pass its message off as one from another domain.
 */
function withoutHopHistory(message: Message): Message {
  if (!Object.hasOwn(message, "bmnvia")) return message;
  const copy: Record<string, unknown> = { ...message };
  delete copy.bmnvia;
  return copy as Message;
}

function binaryMessage(
  headers: IncomingHttpHeaders,
  names: string[],
  body: unknown,
  defaults: MessageDefaults,
): Message {
  const attributes: Record<string, unknown> = {};
  for (const header of names) {
    const name = CE_HEADER.exec(header)?.[1] ?? "";
    const raw = headers[header];
    const value = Array.isArray(raw) ? raw.join(",") : (raw ?? "");
    if (name === "data" || name === "data_base64" || !/^[a-z0-9]{1,20}$/.test(name)) {
      throw new ValidationError(`header ${header} is not a valid CloudEvents attribute header`, {
        field: header,
      });
    }
    if (NUMERIC_ATTRIBUTES.has(name)) {
      // Decimal digits only: Number() would also read "0x5", "5e0", "+5" and " 5 ".
      const number = decimalInteger.safeParse(value);
      if (!number.success) {
        throw new ValidationError(`header ${header} must be a whole decimal number`, { field: header });
      }
      attributes[name] = number.data;
    } else {
      attributes[name] = value;
    }
  }
  const contentType = headers["content-type"];
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  if (Buffer.isBuffer(body)) {
    if (body.length > 0) attributes.data_base64 = body.toString("base64");
  } else if (body !== undefined && body !== null) {
    attributes.data = body;
  }
  try {
    return withoutHopHistory(
      createMessage(attributes, { source: defaults.source, maxBytes: defaults.maxBytes }),
    );
  } catch (error) {
    // Name the header the sender actually set.
    if (error instanceof BmnError && error.field !== undefined && names.includes(`ce-${error.field}`)) {
      throw new ValidationError(`header ce-${error.message}`, { field: `ce-${error.field}`, cause: error });
    }
    throw error;
  }
}

export function isJsonContentType(contentType: string | undefined): boolean {
  return contentType === undefined || JSON_TYPES.test(contentType);
}
