import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { BmnClient, Message } from "../../client/index.js";
import { BMN, BmnProcess } from "../../test/harness/bmn-process.js";
import { until } from "../../test/harness/poll-until.js";
import { freePort } from "../../test/harness/free-port.js";
import { metricSum } from "./gateway-observe.js";

/**
 * `bmn bridge <args>` towards the sidecar at `sidecarUrl`, in a process group of its own (a test can SIGKILL it and
 * start it again), ready when its probe port answers /readyz.
 */
export async function startBridge(
  label: string,
  sidecarUrl: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<BmnProcess> {
  return BmnProcess.start({
    label,
    port: await freePort(),
    args: (port) => ["--url", sidecarUrl, "bridge", ...args, "--port", String(port)],
    env,
    readyPath: "/readyz",
  });
}

/** `bmn_bridge_messages_total` of a bridge for one path and outcome. */
export function bridgeCount(bridge: BmnProcess, path: string, outcome: string): Promise<number> {
  return metricSum(bridge.url, "bmn_bridge_messages_total", { path, outcome });
}

/** `bmn doctor <url> --json` as a real CLI process: what it found and which bridge it names. */
export async function doctor(url: string): Promise<{ found: string; bridge?: string; details: string[] }> {
  const { stdout } = await promisify(execFile)(process.execPath, [BMN, "doctor", url, "--json"], {
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim()) as { found: string; bridge?: string; details: string[] };
}

/** Receives (and acks) `client`'s messages until `done` holds for all received so far; answers them. */
export async function receiveUntil(
  client: BmnClient,
  done: (messages: Message[]) => boolean,
  what: string,
): Promise<Message[]> {
  const messages: Message[] = [];
  await until(
    async () => {
      for (const delivery of await client.receive({ max: 100, waitSeconds: 0.2 })) {
        messages.push(delivery.message);
        await client.ack(delivery.leaseId);
      }
      return done(messages);
    },
    60_000,
    what,
    () => `${messages.length} received`,
  );
  return messages;
}

/** Receives (and acks) a batch of `client`'s messages, counting each id in `seen` (a count above 1: a duplicate). */
export async function tallyReceived(
  client: BmnClient,
  seen: Map<string, number>,
  key = (m: Message) => m.id,
): Promise<void> {
  for (const delivery of await client.receive({ max: 100, waitSeconds: 0.1 })) {
    const id = key(delivery.message);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    await client.ack(delivery.leaseId);
  }
}
