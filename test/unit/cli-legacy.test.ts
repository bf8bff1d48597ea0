import { describe, expect, it } from "vitest";
import {
  bmnPriorityToLegacy,
  collabData,
  legacyBroadcastTopic,
  legacyPriorityToBmn,
  parseIntFlag,
  parseSecondsFlag,
  statusData,
} from "../../cli/legacy.js";
import { UsageError } from "../../cli/errors.js";

describe("legacy priority mapping", () => {
  it("maps legacy 1-10 onto BMN 0-9 as p-1, keeping the order, and back", () => {
    const mapped = Array.from({ length: 10 }, (_, i) => legacyPriorityToBmn(i + 1));
    expect(mapped).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let p = 1; p <= 10; p++) expect(bmnPriorityToLegacy(legacyPriorityToBmn(p))).toBe(p);
  });

  it("refuses anything outside 1-10 or not whole", () => {
    for (const bad of [0, 11, -1, 2.5, Number.NaN])
      expect(() => legacyPriorityToBmn(bad)).toThrow(RangeError);
    for (const bad of [-1, 10, 0.5]) expect(() => bmnPriorityToLegacy(bad)).toThrow(RangeError);
  });
});

describe("flag parsing", () => {
  it("names the flag, the range and the value", () => {
    expect(parseIntFlag("7", "--priority", 1, 10)).toBe(7);
    expect(parseIntFlag(undefined, "--priority", 1, 10)).toBeUndefined();
    expect(() => parseIntFlag("12", "--priority", 1, 10)).toThrow(
      new UsageError("--priority must be 1-10, got 12"),
    );
    expect(() => parseIntFlag("high", "--priority", 1, 10)).toThrow('--priority must be 1-10, got "high"');
    expect(() => parseIntFlag("3.5", "--priority", 1, 10)).toThrow('got "3.5"');
    expect(() => parseIntFlag("", "--percentage", 0, 100)).toThrow("--percentage must be 0-100");
  });

  it("accepts positive seconds with fractions", () => {
    expect(parseSecondsFlag("1.5", "--duration")).toBe(1.5);
    expect(() => parseSecondsFlag("0", "--duration")).toThrow(
      "--duration must be a number of seconds above 0",
    );
    expect(() => parseSecondsFlag("soon", "--wait", 300)).toThrow('at most 300, got "soon"');
  });
});

describe("legacy payloads", () => {
  it("builds status_update data in the legacy snake_case, leaving out what was not given", () => {
    expect(statusData({ message: "working" })).toEqual({ message: "working" });
    expect(
      statusData({ message: "done", taskCompleted: true, progress: "all files", percentage: 100 }),
    ).toEqual({
      message: "done",
      task_completed: true,
      progress: "all files",
      percentage: 100,
    });
  });

  it("builds collaboration_request data and broadcast topics", () => {
    expect(collabData("help", "code_review")).toEqual({ message: "help", request_type: "code_review" });
    expect(collabData("help", undefined)).toEqual({ message: "help" });
    expect(legacyBroadcastTopic("status_update")).toBe("beast.status_update");
  });
});
