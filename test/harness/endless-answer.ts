import type { ServerResponse } from "node:http";

/** Answers 200 with a body that never ends, as a hostile peer would; resolves once the reader closed it. */
export function answerEndlessly(response: ServerResponse): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    response.once("close", () => {
      resolve();
    });
  });
  const chunk = Buffer.alloc(16 * 1024, 120);
  const pump = (): void => {
    while (response.write(chunk));
    response.once("drain", pump);
  };
  response.writeHead(200);
  pump();
  return closed;
}
