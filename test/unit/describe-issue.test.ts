import { describe, expect, it } from "vitest";
import { z } from "zod";
import { describeIssue } from "../../core/api/describe-issue.js";

const issueOf = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error?.issues[0];

describe("describeIssue", () => {
  it("names the offending field by its path, with the prefix of the enclosing input", () => {
    const schema = z.object({ items: z.array(z.object({ n: z.number() })) });
    expect(describeIssue(issueOf(schema, { items: [{ n: 1 }, { n: "x" }] }), { prefix: "batch" })).toEqual({
      errorCode: "INVALID_ARGUMENT",
      field: "batch.items.1.n",
      message: "batch.items.1.n Invalid input: expected number, received string",
      detail: "Invalid input: expected number, received string",
    });
  });

  it("names an unknown key itself, not the object holding it", () => {
    expect(
      describeIssue(issueOf(z.strictObject({ ttlSeconds: z.number().optional() }), { ttlSecond: 1 })),
    ).toMatchObject({
      field: "ttlSecond",
      message: "ttlSecond is not a known field",
    });
  });

  it("describes the whole input when the issue has no path, with no field", () => {
    expect(describeIssue(issueOf(z.object({}), 5), { whole: "body", errorCode: "INVALID_MESSAGE" })).toEqual({
      errorCode: "INVALID_MESSAGE",
      message: "body Invalid input: expected object, received number",
      detail: "Invalid input: expected object, received number",
    });
  });
});
