import { describe, expect, it } from "vitest";
import { resolveSettings, urlFromListen } from "../../cli/config.js";
import { UsageError } from "../../cli/errors.js";

/** A fake file system holding one config file. */
const files =
  (contents: Record<string, string>) =>
  (path: string): string => {
    const text = contents[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
    return text;
  };

const FILE = "/etc/bmn.yaml";
const fileWith = (yaml: string) => files({ [FILE]: yaml });

describe("settings precedence: flags > env > config file > defaults", () => {
  it("uses the defaults with nothing set", () => {
    expect(resolveSettings({}, {}, files({}))).toEqual({
      url: "http://127.0.0.1:7420",
      urlSource: "default",
      agent: "cli",
      verbose: false,
      configFile: undefined,
    });
  });

  it("takes url and agent from the config file named by BMN_CONFIG or --config (the flag wins)", () => {
    const read = files({
      [FILE]: "url: http://files:1\nagent: from-file\n",
      "/other.json": '{"url": "http://other:2"}',
    });
    expect(resolveSettings({}, { BMN_CONFIG: FILE }, read)).toMatchObject({
      url: "http://files:1",
      agent: "from-file",
      urlSource: `config file ${FILE}`,
    });
    expect(resolveSettings({ config: "/other.json" }, { BMN_CONFIG: FILE }, read)).toMatchObject({
      url: "http://other:2",
      agent: "cli",
      configFile: "/other.json",
    });
  });

  it("lets the environment override the file, and flags override both", () => {
    const read = fileWith("url: http://file:1\nagent: file-agent\nverbose: false\n");
    const env = { BMN_CONFIG: FILE, BMN_URL: "http://env:2/", BMN_AGENT: "env-agent", BMN_VERBOSE: "1" };
    expect(resolveSettings({}, env, read)).toMatchObject({
      url: "http://env:2",
      urlSource: "BMN_URL",
      agent: "env-agent",
      verbose: true,
    });
    expect(resolveSettings({ url: "http://flag:3", agent: "flag-agent" }, env, read)).toMatchObject({
      url: "http://flag:3",
      urlSource: "--url",
      agent: "flag-agent",
    });
  });

  it("builds the URL from the sidecar's BMN_HOST/BMN_PORT, or a sidecar config's host and port", () => {
    expect(resolveSettings({}, { BMN_PORT: "7500" }, files({}))).toMatchObject({
      url: "http://127.0.0.1:7500",
      urlSource: "BMN_HOST/BMN_PORT",
    });
    const sidecarConfig = fileWith("host: 0.0.0.0\nport: 7600\nstore:\n  type: redis\n");
    expect(resolveSettings({}, { BMN_CONFIG: FILE }, sidecarConfig).url).toBe("http://127.0.0.1:7600");
    // BMN_URL beats BMN_PORT; the file's url beats its host/port.
    expect(resolveSettings({}, { BMN_URL: "http://a:1", BMN_PORT: "2" }, files({})).url).toBe("http://a:1");
    expect(resolveSettings({}, { BMN_CONFIG: FILE }, fileWith("url: http://b:1\nport: 2\n")).url).toBe(
      "http://b:1",
    );
    expect(urlFromListen("::1", "80")).toBe("http://[::1]:80");
    expect(urlFromListen(undefined, undefined)).toBeUndefined();
  });

  it("treats empty variables as unset", () => {
    expect(resolveSettings({}, { BMN_URL: "", BMN_AGENT: " ", BMN_CONFIG: "" }, files({}))).toMatchObject({
      url: "http://127.0.0.1:7420",
      agent: "cli",
    });
  });

  it("says what is wrong, and where", () => {
    expect(() => resolveSettings({ config: "/missing.yaml" }, {}, files({}))).toThrow(
      new UsageError("cannot read config file /missing.yaml: no such file (set by --config or BMN_CONFIG)"),
    );
    expect(() => resolveSettings({}, { BMN_CONFIG: FILE }, fileWith("url: [unclosed"))).toThrow(
      `config file ${FILE} is not valid YAML or JSON`,
    );
    expect(() => resolveSettings({}, { BMN_CONFIG: FILE }, fileWith("- a\n- b\n"))).toThrow(
      "must hold a mapping",
    );
    expect(() => resolveSettings({}, { BMN_CONFIG: FILE }, fileWith("agent: 42\n"))).toThrow(
      `config file ${FILE}: agent must be a non-empty string, got 42`,
    );
    expect(() => resolveSettings({}, { BMN_CONFIG: FILE }, fileWith("port: 99999\n"))).toThrow(
      "port must be 1-65535",
    );
    expect(() => resolveSettings({ url: "localhost:7420" }, {}, files({}))).toThrow(
      '--url must be an http:// or https:// URL, got "localhost:7420"',
    );
    expect(() => resolveSettings({}, { BMN_URL: "not a url" }, files({}))).toThrow(
      'BMN_URL must be an http:// URL such as http://127.0.0.1:7420, got "not a url"',
    );
  });

  it("ignores keys it does not know, so a sidecar config can be shared", () => {
    const read = fileWith("domain: team-a\nstore:\n  type: memory\nagent: shared\n");
    expect(resolveSettings({}, { BMN_CONFIG: FILE }, read)).toMatchObject({
      agent: "shared",
      url: "http://127.0.0.1:7420",
    });
  });
});
