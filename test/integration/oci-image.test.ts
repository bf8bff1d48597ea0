import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeOciImage } from "../tools/image/oci-image.js";
import { pauseImageSpec } from "../tools/image/image-specs.js";

// test/tools/image/oci-image.ts writes OCI image layouts with GNU tar: the same inputs give the same digests, so
// the image cache and containerd see one image, not a new one per build.

describe("OCI image layout tars", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bmn-oci-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("are reproducible and carry the reference containerd imports them under", async () => {
    const spec = pauseImageSpec({ catatonit: "/bin/true" });
    const first = await writeOciImage(spec, join(dir, "one.tar"));
    const second = await writeOciImage(spec, join(dir, "two.tar"));
    expect(second.manifestDigest).toBe(first.manifestDigest);
    expect(await readFile(join(dir, "two.tar"))).toEqual(await readFile(join(dir, "one.tar")));

    const listing = execFileSync("tar", ["-tf", join(dir, "one.tar")], { encoding: "utf8" }).split("\n");
    expect(listing).toEqual(expect.arrayContaining(["./oci-layout", "./index.json"]));
    const index = JSON.parse(
      execFileSync("tar", ["-xOf", join(dir, "one.tar"), "./index.json"], { encoding: "utf8" }),
    ) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests).toEqual([
      expect.objectContaining({
        digest: first.manifestDigest,
        annotations: {
          "io.containerd.image.name": spec.reference,
          "org.opencontainers.image.ref.name": "dev",
        },
      }),
    ]);
  });
});
