import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBoundedText, ResponseTooLargeError } from "../../runtime/http/read-bounded.js";
import { answerEndlessly } from "../harness/endless-answer.js";

// Answers of pods and peers are read with a bound: an endless answer costs the reader nothing but the bound.
describe("reading an answer with a bound", () => {
  let server: Server;
  let url: string;
  let endlessClosed: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === "/endless") {
        endlessClosed = answerEndlessly(response);
        return;
      }
      response.end("bmn_sidecar_leases_held 3\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("answers a short body whole", async () => {
    expect(await readBoundedText(await fetch(`${url}/short`), 1024)).toBe("bmn_sidecar_leases_held 3\n");
  });

  it("stops an endless answer at the bound, and the connection is closed", async () => {
    const reading = readBoundedText(await fetch(`${url}/endless`), 256 * 1024);
    await expect(reading).rejects.toBeInstanceOf(ResponseTooLargeError);
    await endlessClosed;
  });
});
