import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { GATEWAY_TOKEN_PATTERN, GATEWAY_TOKEN_RULE } from "../../core/config.js";
import { ConfigError } from "../config/load-config.js";

const BEARER = /^Bearer +(\S+)$/i;

/**
 * A shared secret read from a file (a mounted Kubernetes Secret) at start: one trailing newline
 * (`echo … > file`, `kubectl create secret --from-file`) is dropped. A file that cannot be read, or that does not
 * hold a valid token, is a ConfigError naming the config key.
 */
export function readTokenFile(
  path: string,
  key: string,
  readFile: (path: string) => string = (file) => readFileSync(file, "utf8"),
): string {
  let text: string;
  try {
    text = readFile(path);
  } catch (cause) {
    throw new ConfigError(`config key ${key}: cannot read ${path}: ${(cause as Error).message}`, {
      field: key,
      cause,
    });
  }
  const token = text.replace(/\r?\n$/, "");
  if (!GATEWAY_TOKEN_PATTERN.test(token))
    throw new ConfigError(`config key ${key}: the token in ${path} ${GATEWAY_TOKEN_RULE}`, { field: key });
  return token;
}

/**
 * A check of presented tokens against the expected one that leaks neither content nor length: both sides are
 * hashed to SHA-256 digests of equal size, which are compared in constant time.
 */
export function tokenMatcher(expected: string): (presented: string | undefined) => boolean {
  const want = digest(expected);
  return (presented) => presented !== undefined && timingSafeEqual(digest(presented), want);
}

/** The token of `Authorization: Bearer <token>`, or of `header` when given and present. */
export function presentedToken(headers: IncomingHttpHeaders, header?: string): string | undefined {
  const own = header === undefined ? undefined : headers[header];
  if (typeof own === "string" && own !== "") return own;
  const authorization = headers.authorization;
  return authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
