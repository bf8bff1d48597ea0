/**
 * Polls `probe` every `pollMs` until it answers something other than undefined/false; throws after `timeoutMs`
 * with `what` and the last value `describe` gives (for diagnosis). Errors of the probe count as "not yet".
 */
export async function until<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
  describe?: () => Promise<string> | string,
  pollMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const state = describe === undefined ? "" : `; last state: ${await describe()}`;
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
