import { describe, expect, it } from "vitest";
import { checkPushUrlLiteral, isPrivateAddress } from "../../sidecar/a2a/push-url-policy.js";

describe("the push URL policy", () => {
  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "169.254.169.254",
    "100.64.0.1",
    "192.0.0.8",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
    "2001:0:4136:e378::1",
    "fd00::1",
    "fe80::1",
    "ff02::1",
  ])("refuses %s", (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])("allows the public address %s", (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it("refuses private hosts written in the URL, in any IPv4 notation, unless allowed", () => {
    for (const url of ["http://localhost/x", "http://2130706433/x", "http://0x7f.1/x", "http://[::1]/x"])
      expect(() => {
        checkPushUrlLiteral(url, false);
      }).toThrow(/allowPrivateUrls/);
    expect(() => {
      checkPushUrlLiteral("http://localhost/x", true);
    }).not.toThrow();
    expect(() => {
      checkPushUrlLiteral("https://hooks.example.com/x", false);
    }).not.toThrow();
  });
});
