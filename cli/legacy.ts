/**
 * The legacy Beast Mode conventions the `status`, `collab`, `send` and `listen` commands keep: priorities 1-10,
 * snake_case message types, and broadcast (no target) as a topic every listener subscribes to.
 */
import { UsageError } from "./errors.js";

export const LEGACY_TYPES = {
  message: "simple_message",
  status: "status_update",
  collab: "collaboration_request",
} as const;

/** Broadcasts (a legacy message without a target) go to `beast.<type>`; listeners subscribe to this pattern. */
export const LEGACY_BROADCAST_PATTERN = "beast.#";

export function legacyBroadcastTopic(type: string): string {
  return `beast.${type}`;
}

export { bmnPriorityToLegacy, legacyPriorityToBmn } from "../core/legacy-priority.js";

/**
 * Parses a whole-number flag; `undefined` stays undefined. The error names the flag, the range and the value:
 * `--priority must be 1-10, got 12`.
 */
export function parseIntFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const number = /^-?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(
      `${flag} must be ${min}-${max}, got ${JSON.stringify(value).replace(/^"(-?\d+)"$/, "$1")}`,
    );
  }
  return number;
}

/** A positive number of seconds (fractions allowed). */
export function parseSecondsFlag(value: string | undefined, flag: string, max = 86_400): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value.trim());
  if (value.trim() === "" || !Number.isFinite(number) || number <= 0 || number > max) {
    throw new UsageError(
      `${flag} must be a number of seconds above 0 and at most ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

export interface StatusFields {
  message: string;
  taskCompleted?: boolean | undefined;
  progress?: string | undefined;
  percentage?: number | undefined;
}

/** The `data` of a `status_update`, in the legacy payload's snake_case. */
export function statusData(fields: StatusFields): Record<string, unknown> {
  return {
    message: fields.message,
    ...(fields.taskCompleted === true ? { task_completed: true } : {}),
    ...(fields.progress === undefined ? {} : { progress: fields.progress }),
    ...(fields.percentage === undefined ? {} : { percentage: fields.percentage }),
  };
}

/** The `data` of a `collaboration_request`. */
export function collabData(message: string, requestType: string | undefined): Record<string, unknown> {
  return { message, ...(requestType === undefined ? {} : { request_type: requestType }) };
}
