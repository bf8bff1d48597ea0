import { describe, expect, it } from "vitest";
import { terminalSafe } from "../../cli/terminal-safe.js";

describe("output a terminal cannot be driven by", () => {
  it("shows ESC sequences, carriage return, bell, backspace, DEL and C1 controls as visible escapes", () => {
    const hostile = "ok\u001b]0;owned\u0007\u001b[2J\rgone\b\u007f\u009b31m";
    const safe = terminalSafe(hostile);
    expect(safe).toBe("ok\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{d}gone\\u{8}\\u{7f}\\u{9b}31m");
    expect(
      Array.from(safe, (char) => char.codePointAt(0) ?? 0).every(
        (code) => code >= 0x20 && (code < 0x7f || code > 0x9f),
      ),
    ).toBe(true);
  });

  it("leaves text, tabs, newlines and non-ASCII letters as they are", () => {
    const text = "AGENT\tID\nalice\tcafé → ünïcödé 🚀\n";
    expect(terminalSafe(text)).toBe(text);
  });
});
