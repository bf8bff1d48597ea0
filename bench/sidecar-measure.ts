import type { Redis } from "ioredis";
import { info } from "./redis-info.js";
import { procSample, procSyscalls, type ProcSample } from "./sidecar-proc-stats.js";

/** CPU of each process taking part, in µs, between `begin()` and `end()`. */
export interface CpuSpent {
  /** The server under test (sidecar or http-raw), from /proc; 0 when the peer has no server (raw). */
  server: number;
  redis: number;
  /** This process, the load generator. */
  client: number;
  /** Read and write syscalls of the server under test (each socket read or write is one). */
  serverReads: number;
  serverWrites: number;
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
  const syscallsBefore = serverPid === undefined ? undefined : procSyscalls(serverPid);
  const clientBefore = process.cpuUsage();
  const result = await run();
  const client = process.cpuUsage(clientBefore);
  const serverAfter = server();
  const syscallsAfter = serverPid === undefined ? undefined : procSyscalls(serverPid);
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
      serverReads: (syscallsAfter?.reads ?? 0) - (syscallsBefore?.reads ?? 0),
      serverWrites: (syscallsAfter?.writes ?? 0) - (syscallsBefore?.writes ?? 0),
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
    serverReads: total((cpu) => cpu.serverReads),
    serverWrites: total((cpu) => cpu.serverWrites),
  };
}
