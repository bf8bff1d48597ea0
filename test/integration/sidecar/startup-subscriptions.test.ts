import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";

/** `subscriptions` in the config (BMN_AGENT + BMN_SUBSCRIPTIONS on Kubernetes) exist once the sidecar listens. */
describe("startup subscriptions", () => {
  const started: RunningSidecar[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sidecar) => sidecar.close()));
  });

  const start = async (store: InMemoryStore): Promise<RunningSidecar> => {
    const config = loadConfig(
      { port: 0, logLevel: "silent" },
      { BMN_AGENT: "reviewer", BMN_SUBSCRIPTIONS: "code.review.*,alerts.#" },
    );
    const sidecar = await startSidecar(config, { store, logger: false });
    started.push(sidecar);
    return sidecar;
  };

  it("subscribes the agent before listening, so the first publish reaches it", async () => {
    const sidecar = await start(new InMemoryStore());
    const listed = await fetch(`${sidecar.url}/v1/agents/reviewer/subscriptions`);
    const { subscriptions } = (await listed.json()) as { subscriptions: unknown[] };
    expect(subscriptions).toHaveLength(2);
    expect(subscriptions).toEqual(
      expect.arrayContaining([
        { agent: "reviewer", pattern: "code.review.*" },
        { agent: "reviewer", pattern: "alerts.#" },
      ]),
    );
    const published = await fetch(`${sidecar.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "code.review.requested", type: "review", data: { pr: 7 } }),
    });
    expect(await published.json()).toMatchObject({ recipients: ["reviewer"] });
  });

  it("is idempotent: a second replica on the same store adds nothing", async () => {
    const store = new InMemoryStore();
    await start(store);
    const second = await start(store);
    const listed = await fetch(`${second.url}/v1/agents/reviewer/subscriptions`);
    expect(((await listed.json()) as { subscriptions: unknown[] }).subscriptions).toHaveLength(2);
  });
});
