/**
 * Pod Security "restricted" for the pods the operator renders: the sidecar and gateway containers run as the
 * image's non-root user with no capabilities, no privilege escalation, a read-only root filesystem and the
 * runtime's default seccomp profile. A resource may replace any of these keys (`securityContext`,
 * `podSecurityContext`); what it does not name keeps the default.
 */
import type { SecurityContextOverride } from "../../core/crds/common.js";

/** The image's `node` user (Dockerfile `USER node`): numeric, so the kubelet can check runAsNonRoot. */
export const IMAGE_USER_ID = 1000;

const RUNTIME_DEFAULT_SECCOMP = { type: "RuntimeDefault" };

/** The security context of a container of ours (sidecar, gateway). */
export const RESTRICTED_CONTAINER_SECURITY_CONTEXT: Readonly<Record<string, unknown>> = {
  runAsNonRoot: true,
  runAsUser: IMAGE_USER_ID,
  runAsGroup: IMAGE_USER_ID,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: RUNTIME_DEFAULT_SECCOMP,
};

/**
 * The pod-level part of "restricted" that also covers the user's containers of an AgentEndpoint: they must
 * run as non-root under the default seccomp profile. User and group are left to the user's images.
 */
export const RESTRICTED_POD_SECURITY_CONTEXT: Readonly<Record<string, unknown>> = {
  runAsNonRoot: true,
  seccompProfile: RUNTIME_DEFAULT_SECCOMP,
};

/** The defaults with the override's keys replacing theirs (a shallow merge, as documented in the CRDs). */
export function withOverride(
  defaults: Readonly<Record<string, unknown>>,
  override: SecurityContextOverride | undefined,
): Record<string, unknown> {
  return { ...structuredClone(defaults), ...structuredClone(override ?? {}) };
}
