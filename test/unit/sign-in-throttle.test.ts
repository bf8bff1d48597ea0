import { describe, expect, it } from "vitest";
import { SignInThrottle } from "../../console/sign-in-throttle.js";

describe("the console's sign-in throttle", () => {
  it("lets a client fail 10 times a minute, per address, then makes it wait for the window's end", () => {
    let now = 0;
    const throttle = new SignInThrottle(() => now);
    for (let i = 0; i < 10; i++) {
      expect(() => {
        throttle.check("10.0.0.1");
      }).not.toThrow();
      throttle.failed("10.0.0.1");
    }
    expect(() => {
      throttle.check("10.0.0.1");
    }).toThrow(/too many failed sign-ins/);
    expect(throttle.waitSeconds("10.0.0.1")).toBe(60);
    expect(throttle.waitSeconds("10.0.0.2")).toBe(0);
    now = 45_000;
    expect(throttle.waitSeconds("10.0.0.1")).toBe(15);
    now = 60_000;
    expect(throttle.waitSeconds("10.0.0.1")).toBe(0);
  });
});
