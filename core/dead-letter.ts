// The console's page loads this module in the browser as is (console/console-assets.ts): it must import nothing.
/** Why a message was dead-lettered: stable values that operators filter on and scripts rely on. */
export const DEAD_LETTER_REASONS = [
  "max-attempts",
  "expired",
  "rejected",
  "unroutable",
  "forbidden",
  "too-large",
  "invalid",
] as const;

export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

const REASONS = new Set<string>(DEAD_LETTER_REASONS);

export function isDeadLetterReason(value: unknown): value is DeadLetterReason {
  return typeof value === "string" && REASONS.has(value);
}
