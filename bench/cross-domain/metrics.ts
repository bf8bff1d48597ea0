/** The counters of a's gateway that the suite reads (GET /metrics, Prometheus text), for the link to `peer`. */
export interface GatewayCounters {
  /** Batch bodies sent before compression (`{"messages":[...]}` as the forwarder serialized it). */
  uncompressedBytes: number;
  /** The same bodies as sent on the wire (after compression; HTTP headers not included). */
  wireBytes: number;
  batches: number;
  batchedMessages: number;
  rttSeconds: number;
  rttCount: number;
}

function labelsMatch(labels: string, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([name, value]) => labels.includes(`${name}="${value}"`));
}

/** Sum of the samples of `metric` whose labels include every one of `wanted`. */
export function sample(text: string, metric: string, wanted: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const close = line.lastIndexOf("}");
    const labels = close < 0 ? "" : line.slice(metric.length, close + 1);
    if (!labelsMatch(labels, wanted)) continue;
    const value = Number(line.slice(close < 0 ? metric.length : close + 1).trim());
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

export async function readGatewayCounters(gatewayUrl: string, peer: string): Promise<GatewayCounters> {
  const response = await fetch(`${gatewayUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${gatewayUrl}/metrics answered ${response.status}`);
  const sent = { peer, direction: "sent" };
  return {
    uncompressedBytes: sample(text, "bmn_gateway_bytes_total", { ...sent, stage: "uncompressed" }),
    wireBytes: sample(text, "bmn_gateway_bytes_total", { ...sent, stage: "wire" }),
    batches: sample(text, "bmn_gateway_batch_messages_count", { peer }),
    batchedMessages: sample(text, "bmn_gateway_batch_messages_sum", { peer }),
    rttSeconds: sample(text, "bmn_gateway_link_rtt_seconds_sum", { peer }),
    rttCount: sample(text, "bmn_gateway_link_rtt_seconds_count", { peer }),
  };
}

export function countersDelta(before: GatewayCounters, after: GatewayCounters): GatewayCounters {
  return {
    uncompressedBytes: after.uncompressedBytes - before.uncompressedBytes,
    wireBytes: after.wireBytes - before.wireBytes,
    batches: after.batches - before.batches,
    batchedMessages: after.batchedMessages - before.batchedMessages,
    rttSeconds: after.rttSeconds - before.rttSeconds,
    rttCount: after.rttCount - before.rttCount,
  };
}
