import { describe, expect, it } from "vitest";
import { useInjectedSidecar } from "./injected-sidecar.js";

// The A2A REST binding routes on its path itself: each segment is decoded exactly once, and bad encoding is the
// client's error, never a 500.
describe("the A2A REST binding's paths", () => {
  const sidecar = useInjectedSidecar();

  it("answers 400 for malformed percent-encoding, never a 500", async () => {
    const answer = await sidecar().inject({ method: "POST", url: "/a2a/alice/rest/tasks/%E0%A4%A:cancel" });
    expect(answer.statusCode).toBe(400);
  });

  it("decodes once: %25 is the task id %, which does not exist", async () => {
    const answer = await sidecar().inject({ method: "POST", url: "/a2a/alice/rest/tasks/%25:cancel" });
    expect(answer.statusCode).toBe(404);
    expect(answer.json<{ error: { message: string } }>().error.message).toContain("task % is not known");
  });

  it("still serves after bad paths", async () => {
    const answer = await sidecar().inject({ method: "GET", url: "/a2a/alice/rest/tasks/no-such-task" });
    expect(answer.statusCode).toBe(404);
  });
});
