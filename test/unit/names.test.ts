import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  agentAddressSchema,
  agentNameSchema,
  domainNameSchema,
  splitAddress,
  topicPatternSchema,
  topicSchema,
  type AgentAddress,
} from "../../core/names.js";

const accepts = (schema: { safeParse: (value: unknown) => { success: boolean } }, value: unknown) =>
  schema.safeParse(value).success;

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
/** A character that can never appear in a DNS label: the brief's examples plus anything not [a-z0-9-]. */
const badLabelChar = fc.oneof(
  fc.constantFrom("*", "{", "}", ":", "\n", "@", ".", "_", " ", "/", "é"),
  fc.stringMatching(/^[A-Z]$/),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => !/^[a-z0-9-]$/.test(c)),
);
/** Inserts `bad` into `value` at a position chosen by `at`. */
const splice = (value: string, at: number, bad: string) => {
  const index = at % (value.length + 1);
  return value.slice(0, index) + bad + value.slice(index);
};

describe.each([
  ["agentNameSchema", agentNameSchema],
  ["domainNameSchema", domainNameSchema],
] as const)("%s", (_name, schema) => {
  it.each(["a", "z", "0", "worker", "worker-1", "a-b-c", "9lives", "a--b", "x".repeat(63)])(
    "accepts %j",
    (value) => {
      expect(accepts(schema, value)).toBe(true);
    },
  );

  it.each([
    "",
    "-a",
    "a-",
    "-",
    "Worker",
    "WORKER",
    "a_b",
    "a.b",
    "a b",
    "a@b",
    "a*",
    "{a}",
    "a:b",
    "a\n",
    "\na",
    "é",
    "x".repeat(64),
    "x".repeat(1000),
  ])("rejects %j", (value) => {
    expect(accepts(schema, value)).toBe(false);
  });

  it("rejects non-strings", () => {
    for (const value of [undefined, null, 1, true, ["a"], { name: "a" }])
      expect(accepts(schema, value)).toBe(false);
  });

  it("accepts every lowercase DNS label of at most 63 characters (property)", () => {
    fc.assert(fc.property(dnsLabel, (label) => accepts(schema, label)));
  });

  it("rejects any label with one of * { } : newline, uppercase or another foreign character (property)", () => {
    fc.assert(
      fc.property(dnsLabel, fc.nat(), badLabelChar, (label, at, bad) => {
        expect(accepts(schema, splice(label, at, bad))).toBe(false);
      }),
    );
  });

  it("rejects labels of 64 or more characters even when the characters are fine (property)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9][-a-z0-9]{62,100}[a-z0-9]$/), (label) => {
        expect(label.length).toBeGreaterThanOrEqual(64);
        expect(accepts(schema, label)).toBe(false);
      }),
    );
  });

  it("rejects labels that start or end with '-' (property)", () => {
    fc.assert(
      fc.property(dnsLabel, (label) => {
        expect(accepts(schema, `-${label}`)).toBe(false);
        expect(accepts(schema, `${label}-`)).toBe(false);
      }),
    );
  });
});

describe("agentAddressSchema", () => {
  it.each(["worker", "worker@alpha", "a@b", "a-1@b-2", `${"n".repeat(63)}@${"d".repeat(63)}`])(
    "accepts %j",
    (value) => {
      expect(accepts(agentAddressSchema, value)).toBe(true);
    },
  );

  it.each([
    "",
    "@",
    "a@b@c",
    "a@@b",
    "@b",
    "a@",
    "A@b",
    "a@B",
    "-a@b",
    "a@b-",
    "a_b@c",
    "a@b.c",
    "a@b c",
    "a*@b",
    "a@{b}",
    "a:b",
    "a\n@b",
    `${"n".repeat(64)}@d`,
    `n@${"d".repeat(64)}`,
    "n".repeat(64),
  ])("rejects %j", (value) => {
    expect(accepts(agentAddressSchema, value)).toBe(false);
  });

  it("accepts name and name@domain for any labels, and splitAddress recovers the parts (property)", () => {
    fc.assert(
      fc.property(dnsLabel, dnsLabel, (name, domain) => {
        const local = agentAddressSchema.parse(name);
        const remote = agentAddressSchema.parse(`${name}@${domain}`);
        expect(splitAddress(local)).toEqual({ name, domain: undefined });
        expect(splitAddress(remote)).toEqual({ name, domain });
      }),
    );
  });

  it("rejects more than one '@' (property)", () => {
    fc.assert(
      fc.property(fc.array(dnsLabel, { minLength: 3, maxLength: 5 }), (labels) => {
        expect(accepts(agentAddressSchema, labels.join("@"))).toBe(false);
      }),
    );
  });

  it("rejects an address with a foreign character in the name or the domain (property)", () => {
    const foreign = badLabelChar.filter((c) => c !== "@");
    fc.assert(
      fc.property(dnsLabel, dnsLabel, fc.nat(), foreign, fc.boolean(), (name, domain, at, bad, inName) => {
        const address = inName ? `${splice(name, at, bad)}@${domain}` : `${name}@${splice(domain, at, bad)}`;
        expect(accepts(agentAddressSchema, address)).toBe(false);
      }),
    );
  });

  it("splitAddress handles the examples", () => {
    expect(splitAddress("worker" as AgentAddress)).toEqual({ name: "worker", domain: undefined });
    expect(splitAddress("worker@alpha" as AgentAddress)).toEqual({ name: "worker", domain: "alpha" });
  });
});

const topicSegment = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const topic = fc
  .array(topicSegment, { minLength: 1, maxLength: 6 })
  .map((segments) => segments.join("."))
  .filter((value) => value.length <= 255);

describe("topicSchema", () => {
  const longest = ["a", "b", "c"].map((c) => c.repeat(64)).join(".") + "." + "d".repeat(60); // 255 characters

  it.each(["a", "orders", "orders.created", "Orders.EU_west.v-2", "a.b.c.d.e", "x".repeat(64), longest])(
    "accepts %j",
    (value) => {
      expect(accepts(topicSchema, value)).toBe(true);
    },
  );

  it.each([
    "",
    ".",
    "a..b",
    ".a",
    "a.",
    "a b",
    "a/b",
    "a:b",
    "é",
    "a.b\n",
    "*",
    "#",
    "a.*",
    "a.#",
    "a*",
    "x".repeat(65),
    `a.${"x".repeat(65)}`,
    `${longest}e`,
  ])("rejects %j", (value) => {
    expect(accepts(topicSchema, value)).toBe(false);
  });

  it("accepts dot-joined segments of letters, digits, '_' and '-' (property)", () => {
    fc.assert(fc.property(topic, (value) => accepts(topicSchema, value)));
  });

  it("rejects topics longer than 255 characters (property)", () => {
    fc.assert(
      fc.property(fc.array(topicSegment, { minLength: 4, maxLength: 10 }), (segments) => {
        const value = segments.join(".");
        expect(accepts(topicSchema, value)).toBe(value.length <= 255);
      }),
    );
  });

  it("rejects a wildcard or an empty segment anywhere (property)", () => {
    fc.assert(
      fc.property(topic, fc.nat(), fc.constantFrom("*", "#", ""), (value, at, bad) => {
        const segments = value.split(".");
        segments.splice(at % (segments.length + 1), 0, bad);
        expect(accepts(topicSchema, segments.join("."))).toBe(false);
      }),
    );
  });
});

describe("topicPatternSchema", () => {
  it.each(["a", "a.b", "*", "#", "a.*", "a.#", "#.a", "*.*", "a.#.c", "#.#", "Orders.*.created"])(
    "accepts %j",
    (value) => {
      expect(accepts(topicPatternSchema, value)).toBe(true);
    },
  );

  it.each(["", "a..b", ".#", "#.", "a*", "*a", "a.b#", "#a", "**", "##", "a.*b.c", "a b", "a.é"])(
    "rejects %j",
    (value) => {
      expect(accepts(topicPatternSchema, value)).toBe(false);
    },
  );

  it("accepts every topic, and any topic with whole segments replaced by wildcards (property)", () => {
    fc.assert(
      fc.property(topic, fc.array(fc.constantFrom("*", "#", null)), (value, replacements) => {
        expect(accepts(topicPatternSchema, value)).toBe(true);
        const pattern = value
          .split(".")
          .map((segment, i) => replacements[i] ?? segment)
          .join(".");
        expect(accepts(topicPatternSchema, pattern)).toBe(true);
      }),
    );
  });

  it("rejects wildcards that share a segment with other characters (property)", () => {
    fc.assert(
      fc.property(topicSegment, fc.constantFrom("*", "#"), fc.boolean(), (segment, wildcard, before) => {
        const mixed = before ? wildcard + segment : segment + wildcard;
        expect(accepts(topicPatternSchema, `a.${mixed}.b`)).toBe(false);
      }),
    );
  });

  it("rejects patterns longer than 255 characters", () => {
    const stars = (count: number) => Array.from({ length: count }, () => "*").join(".");
    expect(stars(128)).toHaveLength(255);
    expect(accepts(topicPatternSchema, stars(128))).toBe(true);
    expect(accepts(topicPatternSchema, stars(129))).toBe(false);
  });
});
