import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  binaryDataOf,
  createMessage,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PRIORITY,
  dedupeKeyOf,
  MAX_DATA_DEPTH,
  messagePriority,
  parseMessage,
  serializeMessage,
  SPEC_VERSION,
  toMessage,
  withBinaryData,
  type Message,
} from "../../core/envelope.js";
import { TooLargeError, ValidationError } from "../../core/errors.js";
import { uuidv7Time } from "../../core/ids.js";

// ---------------------------------------------------------------------------------------------------------
// Arbitraries for valid attribute values
// ---------------------------------------------------------------------------------------------------------

/** Every attribute name the envelope knows; free extensions must avoid these. */
const KNOWN_ATTRIBUTES = new Set([
  "specversion",
  "id",
  "source",
  "type",
  "time",
  "datacontenttype",
  "dataschema",
  "subject",
  "data",
  "data_base64",
  "to",
  "from",
  "topic",
  "priority",
  "correlationid",
  "replyto",
  "traceparent",
  "tracestate",
  "expiresat",
  "notbefore",
  "dedupekey",
]);

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const address = fc.oneof(
  dnsLabel,
  fc.tuple(dnsLabel, dnsLabel).map(([name, domain]) => `${name}@${domain}`),
);
const messageId = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~-]{1,128}$/), fc.uuid({ version: 7 }));
const topicSegment = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const topic = fc
  .array(topicSegment, { minLength: 1, maxLength: 5 })
  .map((segments) => segments.join("."))
  .filter((value) => value.length <= 255);
// eslint-disable-next-line no-control-regex -- the characters attributes refuse
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Any string without control characters (attributes refuse them), including astral characters and lone
 * surrogates, which JSON must carry faithfully.
 */
const text = (minLength: number, maxLength: number) =>
  fc.string({ unit: "binary", minLength, maxLength }).filter((value) => !CONTROL.test(value));
/** A string with at least one control character. */
const withControl = fc
  .tuple(fc.string({ maxLength: 8 }), fc.integer({ min: 0, max: 0x9f }), fc.string({ maxLength: 8 }))
  .filter(([, code]) => code < 0x20 || code >= 0x7f)
  .map(([before, code, after]) => `${before}${String.fromCharCode(code)}${after}`);

const MIN_TIME = Date.UTC(1970, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** RFC 3339 timestamps: any fraction length, `Z` or a numeric offset. */
const rfc3339 = fc
  .record({
    millis: fc.integer({ min: MIN_TIME, max: MAX_TIME }),
    fraction: fc.stringMatching(/^(\.[0-9]{1,9})?$/),
    offsetMinutes: fc.option(fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), { nil: undefined }),
  })
  .map(({ millis, fraction, offsetMinutes }) => {
    const base = new Date(millis).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
    if (offsetMinutes === undefined) return `${base}${fraction}Z`;
    const sign = offsetMinutes < 0 ? "-" : "+";
    const hours = String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, "0");
    const minutes = String(Math.abs(offsetMinutes) % 60).padStart(2, "0");
    return `${base}${fraction}${sign}${hours}:${minutes}`;
  });
const traceparent = fc.stringMatching(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
const dedupekey = fc.stringMatching(/^[A-Za-z0-9._~:/-]{1,256}$/);

/**
 * JSON data of any shape. JSON cannot tell -0 from 0, so values are passed through JSON once to make them
 * canonical. Objects with an own `__proto__` key (legal JSON) are generated on purpose.
 */
type Json = Exclude<Message["data"], undefined>;
const canonicalJson = (value: unknown): Json => JSON.parse(JSON.stringify(value)) as Json;
const jsonData = fc.oneof(
  fc.jsonValue().map(canonicalJson),
  fc
    .tuple(fc.jsonValue(), fc.jsonValue())
    .map(
      ([inner, other]) =>
        JSON.parse(`{"__proto__":${JSON.stringify(inner)},"other":${JSON.stringify(other)}}`) as Json,
    ),
);

const extensionName = fc.stringMatching(/^[a-z0-9]{1,20}$/).filter((name) => !KNOWN_ATTRIBUTES.has(name));
const extensionValue = fc.oneof(
  text(0, 40),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Object.is(value, -0)),
  fc.boolean(),
);
const extensions = fc
  .uniqueArray(fc.tuple(extensionName, extensionValue), { selector: ([name]) => name, maxLength: 5 })
  .map((entries) => Object.fromEntries(entries));

/** The payload: none, JSON `data`, or bytes as `data_base64` (kept so the test can compare them). */
const payload = fc.oneof(
  fc.constant({ attributes: {}, bytes: undefined }),
  jsonData.map((data) => ({ attributes: { data }, bytes: undefined })),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({
    attributes: { data_base64: Buffer.from(bytes).toString("base64") },
    bytes,
  })),
);

const optionalAttributes = fc.record(
  {
    time: rfc3339,
    datacontenttype: text(1, 40),
    dataschema: text(1, 80),
    subject: text(1, 80),
    to: address,
    from: address,
    topic,
    priority: fc.integer({ min: 0, max: 9 }),
    correlationid: text(1, 60),
    replyto: address,
    traceparent,
    tracestate: text(0, 100),
    expiresat: rfc3339,
    notbefore: rfc3339,
    dedupekey,
  },
  { requiredKeys: [] },
);

interface ValidCase {
  raw: Record<string, unknown>;
  bytes: Uint8Array | undefined;
}

/** A valid message as a plain object, covering every attribute (each optional one present or absent). */
const validMessage: fc.Arbitrary<ValidCase> = fc
  .record({
    id: messageId,
    source: text(1, 80),
    type: text(1, 60),
    optional: optionalAttributes,
    payload,
    extensions,
  })
  .map(({ id, source, type, optional, payload: { attributes, bytes }, extensions: ext }) => ({
    raw: { ...ext, specversion: SPEC_VERSION, id, source, type, ...optional, ...attributes },
    bytes,
  }));

// ---------------------------------------------------------------------------------------------------------
// Arbitraries for corruptions: each breaks exactly one attribute and says which
// ---------------------------------------------------------------------------------------------------------

interface Corruption {
  field: string;
  apply: (raw: Record<string, unknown>) => Record<string, unknown>;
}

const setField = (field: string, value: unknown): Corruption => ({
  field,
  apply: (raw) => ({ ...raw, [field]: value }),
});

/** A character a message id may not contain (anything but letters, digits, `.`, `_`, `~`, `-`). */
const badIdChar = fc.oneof(
  fc.constantFrom("{", "}", "*", ":", "\n", " ", "/", "@", "#", "%", "\0", "é", "😀"),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => !/^[A-Za-z0-9._~-]$/.test(c)),
);
const badId = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9._~-]{0,60}$/),
      badIdChar,
      fc.stringMatching(/^[A-Za-z0-9._~-]{0,60}$/),
    )
    .map(([before, bad, after]) => before + bad + after),
  fc.constant(""),
  fc.stringMatching(/^[A-Za-z0-9._~-]{129,200}$/),
  fc.constant("i".repeat(129)),
  fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)),
);

const badSpecVersion = fc.jsonValue().filter((value) => value !== SPEC_VERSION);

const badPriority = fc.oneof(
  fc.integer({ max: -1 }),
  fc.integer({ min: 10 }),
  fc.double({ min: -100, max: 100, noNaN: true }).filter((value) => !Number.isInteger(value)),
  fc.integer({ min: 0, max: 9 }).map(String),
  fc.constantFrom(null, true, false, "high", [], {}),
);

const VALID_ADDRESS = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(@[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$/;
const badAddress = fc
  .oneof(
    fc.constantFrom(
      "",
      "a@b@c",
      "@b",
      "a@",
      "-a",
      "a-",
      "a@-b",
      "a_b",
      "a.b",
      "A",
      "a@B",
      "a b",
      "a*",
      "a@{b}",
      "a:b",
      "a\n",
      "a".repeat(64),
      `a@${"b".repeat(64)}`,
    ),
    // An otherwise valid address with one bad character spliced in.
    fc
      .tuple(address, fc.nat(), fc.constantFrom("@", "*", "{", "}", ":", "\n", "_", ".", " ", "A", "Z", "é"))
      .map(([valid, at, bad]) => {
        const index = at % (valid.length + 1);
        return valid.slice(0, index) + bad + valid.slice(index);
      }),
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.constantFrom(1, true, null, ["a"], { name: "a" }),
  )
  .filter((value) => typeof value !== "string" || !VALID_ADDRESS.test(value));

const badTopic = fc.oneof(
  fc.constantFrom("", ".", "a..b", ".a", "a.", "a b", "a.*", "*", "#", "a.#", "a/b", "é", "a.b\n"),
  topicSegment.map((segment) => `${segment}.${"x".repeat(65)}`),
  fc.constant(Array.from({ length: 4 }, () => "s".repeat(64)).join(".")), // 259 characters
  fc.constantFrom(1, null, ["a"]),
);

const badTraceparent = fc.oneof(
  // Uppercase hex in exactly one of the four parts.
  fc
    .tuple(traceparent, fc.integer({ min: 0, max: 3 }), fc.stringMatching(/^[A-F]$/))
    .map(([value, part, upper]) => {
      const parts = value.split("-");
      const chosen = parts[part] ?? "";
      parts[part] = upper + chosen.slice(1);
      return parts.join("-");
    }),
  traceparent.map((value) => value.slice(1)),
  traceparent.map((value) => `${value}0`),
  traceparent.map((value) => value.replaceAll("-", "")),
  traceparent.map((value) => value.replace("-", "_")),
  fc.constantFrom("", "00-abc-def-01", "not a traceparent", 42, null),
);

const badTimestamp = fc.oneof(
  fc.constantFrom(
    "",
    "tomorrow",
    "2024-01-01",
    "2024-01-01T00:00:00",
    "2024-01-01 00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-01-32T00:00:00Z",
    "2024-01-01T25:00:00Z",
    "2024-01-01T00:60:00Z",
    "2024-01-01T00:00Z",
    "2024-01-01T00:00:00+0200",
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00.Z",
    "Mon, 01 Jan 2024 00:00:00 GMT",
    "1704067200000",
    1704067200000,
    null,
  ),
  rfc3339.map((value) => value.replace("T", " ")),
  rfc3339.map((value) => value.replace(/(Z|[+-]\d\d:\d\d)$/, "")),
);

const alnum = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const badExtensionName = fc
  .oneof(
    // An uppercase letter somewhere in an otherwise good name.
    fc
      .tuple(
        fc.stringMatching(/^[a-z0-9]{0,9}$/),
        fc.stringMatching(/^[A-Z]$/),
        fc.stringMatching(/^[a-z0-9]{0,9}$/),
      )
      .map(([before, upper, after]) => before + upper + after),
    fc.tuple(alnum, alnum).map(([before, after]) => `${before}_${after}`),
    fc.stringMatching(/^[a-z0-9]{21,40}$/),
    fc.constantFrom("a-b", "a.b", "é", "a b", "$ref"),
  )
  .filter((name) => !KNOWN_ATTRIBUTES.has(name));
const badExtension: fc.Arbitrary<Corruption> = fc
  .tuple(badExtensionName, extensionValue)
  .map(([name, value]) => setField(name, value));

const nonScalar = fc.oneof(
  fc.dictionary(fc.string(), fc.jsonValue()).map(canonicalJson),
  fc.array(fc.jsonValue()).map(canonicalJson),
  fc.constant(null),
);
const badExtensionValue: fc.Arbitrary<Corruption> = fc
  .tuple(extensionName, nonScalar)
  .map(([name, value]) => setField(name, value));

const dataAndBinary: fc.Arbitrary<Corruption> = fc.tuple(jsonData, fc.uint8Array()).map(([data, bytes]) => ({
  field: "data_base64",
  apply: (raw) => ({ ...raw, data, data_base64: Buffer.from(bytes).toString("base64") }),
}));

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  badId.map((value) => setField("id", value)),
  badSpecVersion.map((value) => setField("specversion", value)),
  badPriority.map((value) => setField("priority", value)),
  fc
    .tuple(fc.constantFrom("to", "from", "replyto"), badAddress)
    .map(([field, value]) => setField(field, value)),
  badTopic.map((value) => setField("topic", value)),
  badTraceparent.map((value) => setField("traceparent", value)),
  fc
    .tuple(fc.constantFrom("expiresat", "notbefore", "time"), badTimestamp)
    .map(([field, value]) => setField(field, value)),
  badExtension,
  badExtensionValue,
  dataAndBinary,
  fc
    .tuple(
      fc.constantFrom("type", "source", "subject", "correlationid", "datacontenttype", "tracestate"),
      withControl,
    )
    .map(([field, value]) => setField(field, value)),
  fc.tuple(extensionName, withControl).map(([name, value]) => setField(name, value)),
);

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw, but it returned normally");
}

function expectInvalid(action: () => unknown, field?: string): ValidationError {
  const error = thrownBy(action);
  expect(error).toBeInstanceOf(ValidationError);
  const validation = error as ValidationError;
  expect(validation.code).toBe("INVALID_MESSAGE");
  expect(validation.status).toBe(400);
  if (field !== undefined) {
    expect(validation.field).toBe(field);
    expect(validation.message).toContain(field);
    expect(validation.toJSON()).toEqual({ errorCode: "INVALID_MESSAGE", message: validation.message, field });
  }
  return validation;
}

function expectTooLarge(action: () => unknown, limit: number): TooLargeError {
  const error = thrownBy(action);
  expect(error).toBeInstanceOf(TooLargeError);
  const tooLarge = error as TooLargeError;
  expect(tooLarge.code).toBe("TOO_LARGE");
  expect(tooLarge.status).toBe(413);
  expect(tooLarge.message).toContain(String(limit));
  return tooLarge;
}

const minimal = { specversion: SPEC_VERSION, id: "m-1", source: "test://unit", type: "test.event" };

/** Serialized message whose UTF-8 size is exactly `bytes`, padded through a string `data`. */
function messageOfSize(bytes: number): string {
  const empty = JSON.stringify({ ...minimal, data: "" });
  const json = JSON.stringify({ ...minimal, data: "x".repeat(bytes - Buffer.byteLength(empty)) });
  expect(Buffer.byteLength(json)).toBe(bytes);
  return json;
}

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

describe("envelope round trip (property)", () => {
  it("accepts every generated valid message unchanged and parse(serialize(m)) deep-equals m", () => {
    fc.assert(
      fc.property(validMessage, ({ raw, bytes }) => {
        const message: Message = toMessage(raw);
        expect(message).toEqual(raw);
        const text = serializeMessage(message);
        const parsed = parseMessage(text);
        expect(parsed).toEqual(message);
        // Serialization is stable: a second trip yields the same bytes.
        expect(serializeMessage(parsed)).toBe(text);
        // The same holds for UTF-8 bytes, as they come off a socket.
        expect(parseMessage(new TextEncoder().encode(text))).toEqual(message);
        if (bytes === undefined) {
          expect(binaryDataOf(parsed)).toBeUndefined();
        } else {
          expect(new Uint8Array(binaryDataOf(parsed) ?? [])).toEqual(bytes);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("carries arbitrary bytes through withBinaryData and binaryDataOf", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), jsonData, (bytes, data) => {
        const draft = withBinaryData({ type: "blob", data }, bytes);
        expect(draft).not.toHaveProperty("data");
        const parsed = parseMessage(serializeMessage(createMessage(draft)));
        expect(parsed.data).toBeUndefined();
        expect(new Uint8Array(binaryDataOf(parsed) ?? [])).toEqual(bytes);
      }),
    );
  });

  it("keeps an own __proto__ key inside data", () => {
    const text = JSON.stringify(minimal).replace(/}$/, ',"data":{"__proto__":{"a":1},"b":2}}');
    const parsed = parseMessage(text);
    expect(Object.keys(parsed.data as object).sort()).toEqual(["__proto__", "b"]);
    expect(serializeMessage(parsed)).toBe(text);
  });
});

describe("envelope rejection (property)", () => {
  it("rejects a message with one corrupted attribute, naming that attribute", () => {
    fc.assert(
      fc.property(validMessage, corruption, ({ raw }, { field, apply }) => {
        const corrupted = apply(raw);
        expectInvalid(() => parseMessage(JSON.stringify(corrupted)), field);
        expectInvalid(() => toMessage(corrupted), field);
      }),
      { numRuns: 500 },
    );
  });

  it.each(["id", "source", "type", "specversion"])("rejects a message without %s", (field) => {
    const { [field]: _removed, ...rest } = minimal as Record<string, unknown>;
    expectInvalid(() => parseMessage(JSON.stringify(rest)), field);
  });

  it("rejects a top-level __proto__ attribute instead of dropping it", () => {
    const text = JSON.stringify(minimal).replace(/}$/, ',"__proto__":{"priority":9}}');
    expectInvalid(() => parseMessage(text), "__proto__");
  });

  it("rejects extension values and data that JSON cannot carry", () => {
    expectInvalid(() => toMessage({ ...minimal, ext: Number.NaN }), "ext");
    expectInvalid(() => toMessage({ ...minimal, ext: Number.POSITIVE_INFINITY }), "ext");
    expectInvalid(() => toMessage({ ...minimal, ext: undefined }), "ext");
    expectInvalid(() => toMessage({ ...minimal, data: [1, Number.NaN] }), "data");
    expectInvalid(() => toMessage({ ...minimal, data: { a: undefined } }), "data");
    expectInvalid(() => toMessage({ ...minimal, data: { when: new Date(0) } }), "data");
  });

  it("rejects deeply nested data with a validation error rather than a stack overflow", () => {
    const nested = (depth: number) =>
      JSON.stringify(minimal).replace(/}$/, `,"data":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    expect(parseMessage(nested(MAX_DATA_DEPTH)).data).toBeDefined();
    expectInvalid(() => parseMessage(nested(MAX_DATA_DEPTH + 1)), "data");
    expectInvalid(() => parseMessage(nested(200_000)), "data");
  });
});

describe("parseMessage on bad input", () => {
  it.each(["", "{", "not json", '{"id":1,}', "{'id':'x'}", '{"id":"x"} trailing', "\u0000"])(
    "rejects malformed JSON %j as INVALID_MESSAGE",
    (text) => {
      expectInvalid(() => parseMessage(text));
      expectInvalid(() => parseMessage(new TextEncoder().encode(text)));
    },
  );

  it.each(["[]", "[{}]", "42", "null", '"text"', "true"])(
    "rejects non-object JSON %s as INVALID_MESSAGE",
    (text) => {
      const error = expectInvalid(() => parseMessage(text));
      expect(error.message).toMatch(/object/);
    },
  );

  it("rejects non-objects passed to toMessage", () => {
    for (const value of [null, undefined, 42, "x", [minimal]]) expectInvalid(() => toMessage(value));
  });

  it("enforces the default 1 MiB limit on the raw bytes", () => {
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(1024 * 1024);
    const atLimit = messageOfSize(DEFAULT_MAX_MESSAGE_BYTES);
    expect(parseMessage(atLimit).id).toBe(minimal.id);
    const over = messageOfSize(DEFAULT_MAX_MESSAGE_BYTES + 1);
    expectTooLarge(() => parseMessage(over), DEFAULT_MAX_MESSAGE_BYTES);
    expectTooLarge(() => parseMessage(new TextEncoder().encode(over)), DEFAULT_MAX_MESSAGE_BYTES);
    // Oversized input is refused before it is parsed: even invalid JSON gets TOO_LARGE.
    expectTooLarge(() => parseMessage("{".repeat(DEFAULT_MAX_MESSAGE_BYTES + 1)), DEFAULT_MAX_MESSAGE_BYTES);
  });

  it("enforces a configured maxBytes", () => {
    const maxBytes = 300;
    expect(parseMessage(messageOfSize(maxBytes), { maxBytes }).id).toBe(minimal.id);
    expectTooLarge(() => parseMessage(messageOfSize(maxBytes + 1), { maxBytes }), maxBytes);
    // A larger configured limit admits what the default refuses.
    const big = messageOfSize(DEFAULT_MAX_MESSAGE_BYTES + 10);
    expect(parseMessage(big, { maxBytes: 2 * DEFAULT_MAX_MESSAGE_BYTES }).id).toBe(minimal.id);
  });

  it("counts UTF-8 bytes, not characters", () => {
    const text = JSON.stringify({ ...minimal, data: "é".repeat(200) }); // 2 bytes per "é"
    const bytes = Buffer.byteLength(text);
    expect(text.length).toBeLessThan(bytes);
    expect(parseMessage(text, { maxBytes: bytes }).data).toBe("é".repeat(200));
    expectTooLarge(() => parseMessage(text, { maxBytes: text.length }), text.length);
    // The raw input is measured in bytes before parsing: multi-byte garbage over the limit is TOO_LARGE.
    const garbage = "é".repeat(100);
    expectTooLarge(() => parseMessage(garbage, { maxBytes: 150 }), 150);
    expectInvalid(() => parseMessage(garbage, { maxBytes: 200 }));
  });

  it("applies the limit in toMessage and createMessage too", () => {
    const data = "x".repeat(DEFAULT_MAX_MESSAGE_BYTES);
    expectTooLarge(() => toMessage({ ...minimal, data }), DEFAULT_MAX_MESSAGE_BYTES);
    expectTooLarge(() => createMessage({ type: "big", data }), DEFAULT_MAX_MESSAGE_BYTES);
    expectTooLarge(() => createMessage({ type: "small", data: "x".repeat(500) }, { maxBytes: 400 }), 400);
  });
});

describe("createMessage", () => {
  it("fills specversion, a UUIDv7 id, the default source and the current time", () => {
    const before = Date.now();
    const message = createMessage({ type: "demo", to: "worker", data: { n: 1 } });
    const after = Date.now();
    expect(message.specversion).toBe(SPEC_VERSION);
    expect(message.id).toMatch(UUIDV7);
    const idTime = uuidv7Time(message.id);
    expect(idTime).toBeGreaterThanOrEqual(before);
    expect(idTime).toBeLessThanOrEqual(after + 1); // a full per-millisecond counter may borrow the next ms
    expect(message.source).toBe("bmn://local");
    expect(message.time).toBeDefined();
    expect(message.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const time = Date.parse(message.time ?? "");
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
    expect(message).toMatchObject({ type: "demo", to: "worker", data: { n: 1 } });
    // What it makes parses back to itself.
    expect(parseMessage(serializeMessage(message))).toEqual(message);
  });

  it("gives each message a fresh id, in creation order", () => {
    const ids = Array.from({ length: 200 }, () => createMessage({ type: "demo" }).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("uses the configured source and keeps fields the draft sets", () => {
    expect(createMessage({ type: "demo" }, { source: "bmn://alpha/agent" }).source).toBe("bmn://alpha/agent");
    const explicit = createMessage({
      type: "demo",
      id: "my-id",
      source: "custom://src",
      time: "2020-01-01T00:00:00Z",
    });
    expect(explicit).toMatchObject({ id: "my-id", source: "custom://src", time: "2020-01-01T00:00:00Z" });
  });

  it("validates the draft", () => {
    expectInvalid(() => createMessage({ type: "demo", priority: 10 }), "priority");
    expectInvalid(() => createMessage({ type: "" }), "type");
    expectInvalid(() => createMessage({ type: "demo", to: "Bad Agent" }), "to");
    expectInvalid(() => createMessage({ type: "demo", id: "a:b" }), "id");
  });
});

describe("message helpers", () => {
  it("messagePriority defaults to DEFAULT_PRIORITY", () => {
    expect(DEFAULT_PRIORITY).toBe(4);
    expect(messagePriority(createMessage({ type: "demo" }))).toBe(DEFAULT_PRIORITY);
    expect(messagePriority(createMessage({ type: "demo", priority: 0 }))).toBe(0);
    expect(messagePriority(createMessage({ type: "demo", priority: 9 }))).toBe(9);
  });

  it("dedupeKeyOf prefers dedupekey over id", () => {
    expect(dedupeKeyOf(createMessage({ type: "demo", id: "abc" }))).toBe("abc");
    expect(dedupeKeyOf(createMessage({ type: "demo", id: "abc", dedupekey: "order:42" }))).toBe("order:42");
  });

  it("accepts RFC 3339's lowercase t and z, stored uppercased, and still refuses a non-timestamp", () => {
    const message = createMessage({
      type: "demo",
      time: "2026-11-28t20:15:00.5z",
      expiresat: "2026-11-28t21:00:00+01:00",
    });
    expect(message.time).toBe("2026-11-28T20:15:00.5Z");
    expect(message.expiresat).toBe("2026-11-28T21:00:00+01:00");
    expect(() => createMessage({ type: "demo", time: "28 Nov 2026" })).toThrow(/time must be an RFC 3339/);
  });

  it("binaryDataOf is undefined without data_base64", () => {
    expect(binaryDataOf(createMessage({ type: "demo", data: "text" }))).toBeUndefined();
  });
});
