import { existsSync, readFileSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKubeNode, missingNodeParts, type KubeNode } from "../../test/harness/kube-node.js";
import { until } from "../../test/harness/poll-until.js";
import { buildImages } from "../../test/tools/image/build-images.js";

// A real node: kubelet, containerd, runc and the CNI bridge in their own namespaces (test/harness/kube-node.ts).
const missing = missingNodeParts();

function redisPing(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let answer = "";
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: string) => {
      answer += chunk;
      if (answer.includes("\r\n")) {
        socket.end();
        resolve(answer.trim());
      }
    });
    socket.once("error", reject);
    // Closed before answering (the tunnel refuses a Service its proxy does not know yet): a try that failed.
    socket.once("close", () => {
      reject(new Error(`closed before answering: ${JSON.stringify(answer)}`));
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error("no answer")));
  });
}

const POD = `apiVersion: v1
kind: Pod
metadata: { name: redis, namespace: default, labels: { app: redis } }
spec:
  automountServiceAccountToken: false
  containers:
    - name: redis
      image: bmn.local/redis:dev
      imagePullPolicy: Never
      args: ["--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"]
      ports: [{ name: redis, containerPort: 6379 }]
      readinessProbe: { tcpSocket: { port: 6379 }, periodSeconds: 1 }
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        capabilities: { drop: [ALL] }
        seccompProfile: { type: RuntimeDefault }
---
apiVersion: v1
kind: Service
metadata: { name: redis, namespace: default }
spec:
  clusterIP: 10.96.0.50
  selector: { app: redis }
  ports: [{ name: redis, port: 6379, targetPort: redis }]
`;

describe.skipIf(missing !== undefined)("a real node in the test harness", () => {
  let node: KubeNode;
  let cgroupName: string;

  beforeAll(async () => {
    const images = await buildImages(["pause", "redis"]);
    const tar = (name: string): string => images.find((image) => image.name === name)?.tar ?? "";
    node = await startKubeNode({
      pauseImage: { tar: tar("pause"), reference: "bmn.local/pause:dev" },
      images: [tar("redis")],
    });
    cgroupName = node.dir.split("/").pop() ?? "";
  }, 300_000);

  afterAll(async () => {
    // undefined when beforeAll failed
    await (node as KubeNode | undefined)?.stop();
  }, 60_000);

  it(
    "runs a pod with a readiness probe, reachable by pod IP and ClusterIP, with logs and exec",
    { timeout: 180_000 },
    async () => {
      const applied = await node.kubectl(["apply", "-f", "-"], { input: POD });
      expect(applied.stderr).toBe("");
      const podIp = await until(
        async () => {
          const result = await node.kubectl(["get", "pod", "redis", "-o", "json"]);
          const pod = JSON.parse(result.stdout) as {
            status?: { podIP?: string; conditions?: { type: string; status: string }[] };
          };
          const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
          return ready === true ? pod.status?.podIP : undefined;
        },
        120_000,
        "pod redis Ready",
        async () => (await node.kubectl(["describe", "pod", "redis"])).stdout,
        250,
      );
      expect(podIp).toMatch(/^10\.88\./);
      const byPodIp = await node.reach(podIp, 6379);
      expect(await redisPing(byPodIp.host, byPodIp.port)).toBe("+PONG");
      const byClusterIp = await node.reach("10.96.0.50", 6379);
      expect(await until(() => redisPing(byClusterIp.host, byClusterIp.port), 30_000, "ClusterIP")).toBe(
        "+PONG",
      );

      const logs = await node.kubectl(["logs", "redis"]);
      expect(logs.stdout).toContain("Ready to accept connections");
      const exec = await node.kubectl(["exec", "redis", "--", "/usr/bin/redis-server", "--version"]);
      expect(exec.stdout).toContain("Redis server v=");
    },
  );

  it("leaves no cgroup, process or file behind", async () => {
    const dir = node.dir;
    await node.stop();
    expect(existsSync(dir)).toBe(false);
    const leftovers = readdirSync("/sys/fs/cgroup").filter((hierarchy) =>
      existsSync(`/sys/fs/cgroup/${hierarchy}/${cgroupName}`),
    );
    expect(leftovers).toEqual([]);
    // containerd's shims are reparented away from the harness: none may still run for this node.
    const stray = readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
        } catch {
          return false;
        }
      });
    expect(stray).toEqual([]);
  });
});
