import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runClosedLoop } from "../shared/closed-loop.js";
import { messageFactory } from "../shared/payload.js";
import { withPrivateRedis } from "../shared/private-redis.js";
import { fixed } from "../shared/table.js";
import { ChildServer } from "./child.js";
import { HttpApiQueue } from "./http-queue.js";
import { SidecarProducer, WsConsumer } from "./peers.js";
import { runPaced } from "./pipeline.js";

/**
 * Profiles the sidecar under `node --cpu-prof`: a compiled `bmn start` on a private Redis, warmed up, then either
 * - `closed` (default): `messages` send → receive → ack cycles at `concurrency` in flight, the load of the
 *   summary's "one message per request" rows; or
 * - `paced`: single sends at `messages` per second for 20 s, received over the WebSocket stream (credit 64), the
 *   load of the "at 1k msg/s" rows.
 * The profile is written when the sidecar exits; summarise it with `node dist/bench/profile-summary.js <file>`.
 * Usage: node dist/bench/sidecar/profile.js [closed|paced] [messages=20000 | rate=1000] [concurrency=64]
 */
async function main(): Promise<void> {
  const mode = process.argv[2] === "paced" ? "paced" : "closed";
  const messages = Number(process.argv[3] ?? (mode === "paced" ? 1_000 : 20_000));
  const concurrency = Number(process.argv[4] ?? 64);
  const dir = await mkdtemp(join(tmpdir(), "bmn-profile-"));
  await withPrivateRedis(async (url) => {
    const sidecar = await ChildServer.sidecar(url, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    try {
      const makeMessage = messageFactory();
      if (mode === "paced") {
        const producer = new SidecarProducer(sidecar.url, "profile", "single", concurrency);
        const consumer = new WsConsumer(sidecar.url, "profile", concurrency);
        try {
          const result = await runPaced(producer, consumer, {
            rate: messages,
            durationMs: 20_000,
            warmupMs: 2_000,
            makeMessage,
          });
          console.log(
            `${String(result.latencies.length)} messages at ${String(messages)} msg/s under --cpu-prof`,
          );
        } finally {
          await producer.close();
        }
      } else {
        const queue = new HttpApiQueue("sidecar", sidecar.url, "profile", concurrency);
        try {
          await runClosedLoop(queue, { concurrency, messages: Math.ceil(messages / 5), makeMessage });
          const result = await runClosedLoop(queue, { concurrency, messages, makeMessage });
          console.log(`${fixed((result.messages / result.elapsedMs) * 1000)} msgs/s under --cpu-prof`);
        } finally {
          await queue.close();
        }
      }
    } finally {
      await sidecar.stop();
    }
  });
  for (const file of await readdir(dir)) console.log(join(dir, file));
}

await main();
