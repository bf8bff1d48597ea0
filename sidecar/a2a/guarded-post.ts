import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";

/** The host resolved to an address the caller does not allow: the connection was never opened. */
export class AddressForbiddenError extends Error {
  override readonly name = "AddressForbiddenError";
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to ${address}, a loopback or private address`);
  }
}

export interface GuardedPostOptions {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly signal: AbortSignal;
  /** Decides on every address the host resolves to; one refused address refuses the call. */
  readonly allowAddress: (address: string) => boolean;
  /** Bytes of the answer read at most; the rest is not read (the socket is closed). */
  readonly maxResponseBytes: number;
}

/**
 * A lookup that checks the addresses it hands to the socket. The check and the connection use the same answer,
 * so a name that a rebinding DNS server resolves to a public address for a check and to a private one for the
 * connection cannot get through.
 */
function guardedLookup(allowAddress: (address: string) => boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(
      hostname,
      { family: options.family ?? 0, hints: options.hints ?? 0, all: true },
      (error, found) => {
        if (error !== null) {
          callback(error, "", 4);
          return;
        }
        const addresses: LookupAddress[] = found;
        const denied = addresses.find((entry) => !allowAddress(entry.address));
        if (denied !== undefined) {
          callback(
            Object.assign(new AddressForbiddenError(hostname, denied.address), { code: "EFORBIDDEN" }),
            "",
            4,
          );
          return;
        }
        const [first] = addresses;
        if (first === undefined) {
          callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 4);
          return;
        }
        // net asks for every address when it may try several (autoSelectFamily), and for one otherwise.
        if (options.all === true)
          (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        else callback(null, first.address, first.family);
      },
    );
  };
}

/**
 * POSTs to a webhook: no redirects followed, only to addresses `allowAddress` accepts (checked where the socket
 * connects), and at most `maxResponseBytes` of the answer read, so a hostile receiver can neither steer the call
 * inside the cluster nor exhaust memory. Resolves with the status code.
 */
export function guardedPost(url: string, options: GuardedPostOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const requestOptions: RequestOptions = {
      method: "POST",
      headers: { ...options.headers, "content-length": Buffer.byteLength(options.body) },
      lookup: guardedLookup(options.allowAddress),
      signal: options.signal,
      agent: false,
    };
    const onResponse = (response: IncomingMessage): void => {
      let read = 0;
      response.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read > options.maxResponseBytes) response.destroy();
      });
      response.once("error", () => undefined);
      response.once("close", () => {
        resolve(response.statusCode ?? 0);
      });
    };
    try {
      const request =
        target.protocol === "https:"
          ? httpsRequest(target, requestOptions, onResponse)
          : httpRequest(target, requestOptions, onResponse);
      request.once("error", reject);
      request.end(options.body);
    } catch (error) {
      // An invalid header value (a credential with a line break) is refused before anything is sent.
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
