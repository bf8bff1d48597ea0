/**
 * Legacy Beast Mode priorities (1-10, 10 most urgent) against BMN's (0-9, 9 first): the CLI's legacy flags and
 * the legacy bridge map them the same way.
 */

/** Legacy priority 1-10 (10 most urgent) to BMN 0-9 (9 first): p - 1. */
export function legacyPriorityToBmn(priority: number): number {
  if (!Number.isInteger(priority) || priority < 1 || priority > 10) {
    throw new RangeError(`legacy priority must be an integer from 1 to 10, got ${priority}`);
  }
  return priority - 1;
}

/** BMN priority 0-9 back to legacy 1-10. */
export function bmnPriorityToLegacy(priority: number): number {
  if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
    throw new RangeError(`priority must be an integer from 0 to 9, got ${priority}`);
  }
  return priority + 1;
}
