import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runClosedLoop } from "../shared/closed-loop.js";
import { messageFactory } from "../shared/payload.js";
import { withPrivateRedis } from "../shared/private-redis.js";
import { fixed } from "../shared/table.js";
import { ChildServer } from "./child.js";
import { HttpApiQueue } from "./http-queue.js";

/**
 * Profiles the sidecar under the send → receive → ack load of the summary's "one message per request" rows: a
 * compiled `bmn start` on a private Redis under `node --cpu-prof`, warmed up, then `messages` cycles at
 * `concurrency` in flight; the profile is written when the sidecar exits. Summarise it with
 * `node dist/bench/profile-summary.js <file>`.
 * Usage: node dist/bench/sidecar/profile.js [messages=20000] [concurrency=64]
 */
async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 20_000);
  const concurrency = Number(process.argv[3] ?? 64);
  const dir = await mkdtemp(join(tmpdir(), "bmn-profile-"));
  await withPrivateRedis(async (url) => {
    const sidecar = await ChildServer.sidecar(url, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    const queue = new HttpApiQueue("sidecar", sidecar.url, "profile", concurrency);
    try {
      const makeMessage = messageFactory();
      await runClosedLoop(queue, { concurrency, messages: Math.ceil(messages / 5), makeMessage });
      const result = await runClosedLoop(queue, { concurrency, messages, makeMessage });
      console.log(`${fixed((result.messages / result.elapsedMs) * 1000)} msgs/s under --cpu-prof`);
    } finally {
      await queue.close();
      await sidecar.stop();
    }
  });
  for (const file of await readdir(dir)) console.log(join(dir, file));
}

await main();
