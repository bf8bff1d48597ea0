import type { Redis } from "ioredis";
import { info } from "../shared/redis-info.js";
import { procSample, procWrites, type ProcSample } from "./proc-stats.js";

/** CPU of each process taking part, in µs, between `begin()` and `end()`. */
export interface CpuSpent {
  /** The server under test (sidecar or http-raw), from /proc; 0 when the peer has no server (raw). */
  server: number;
  redis: number;
  /** This process, the load generator. */
  client: number;
  /** Write syscalls of the server under test (one per socket write, to clients or to Redis) and bytes written. */
  serverWrites: number;
  serverBytesWritten: number;
}

async function redisCpuMicros(admin: Redis): Promise<number> {
  const cpu = await info(admin, "cpu");
  return (Number(cpu.get("used_cpu_user")) + Number(cpu.get("used_cpu_sys"))) * 1e6;
}

/** Brackets one measured run and reports the CPU every process spent in it. */
export async function measureCpu<T>(
  admin: Redis,
  serverPid: number | undefined,
  run: () => Promise<T>,
): Promise<{ result: T; cpu: CpuSpent }> {
  const server = (): ProcSample | undefined => (serverPid === undefined ? undefined : procSample(serverPid));
  const redisBefore = await redisCpuMicros(admin);
  const serverBefore = server();
  const writesBefore = serverPid === undefined ? undefined : procWrites(serverPid);
  const clientBefore = process.cpuUsage();
  const result = await run();
  const client = process.cpuUsage(clientBefore);
  const serverAfter = server();
  const writesAfter = serverPid === undefined ? undefined : procWrites(serverPid);
  const redisAfter = await redisCpuMicros(admin);
  return {
    result,
    cpu: {
      server:
        serverBefore === undefined || serverAfter === undefined
          ? 0
          : (serverAfter.cpuSeconds - serverBefore.cpuSeconds) * 1e6,
      redis: redisAfter - redisBefore,
      client: client.user + client.system,
      serverWrites: (writesAfter?.calls ?? 0) - (writesBefore?.calls ?? 0),
      serverBytesWritten: (writesAfter?.bytes ?? 0) - (writesBefore?.bytes ?? 0),
    },
  };
}

/** Sums CPU and syscalls over runs and divides by the messages they moved: µs (or calls) per message. */
export function cpuPerMessage(runs: readonly { cpu: CpuSpent; messages: number }[]): CpuSpent {
  const messages = runs.reduce((sum, run) => sum + run.messages, 0);
  const total = (pick: (cpu: CpuSpent) => number): number =>
    runs.reduce((sum, run) => sum + pick(run.cpu), 0) / messages;
  return {
    server: total((cpu) => cpu.server),
    redis: total((cpu) => cpu.redis),
    client: total((cpu) => cpu.client),
    serverWrites: total((cpu) => cpu.serverWrites),
    serverBytesWritten: total((cpu) => cpu.serverBytesWritten),
  };
}
