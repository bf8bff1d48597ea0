/** The background loops of a bridge: each stops when its signal aborts, and a failure never ends it. */
/** Runs `task` until it succeeds (either side may be briefly away), backing off; gives up only when stopped. */
export async function untilDone(
  what: string,
  task: () => Promise<void>,
  signal: AbortSignal,
  warn: (line: string) => void,
): Promise<void> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await task();
      return;
    } catch (error) {
      warn(`${what}: ${error instanceof Error ? error.message : String(error)}; retrying`);
      await pause(Math.min(30_000, 100 * 2 ** Math.min(attempt, 9)), signal);
    }
  }
}

/** Runs `task` at once and then every `intervalMs` until `signal`; a failure is logged and retried next time. */
export async function every(
  intervalMs: number,
  signal: AbortSignal,
  warn: (line: string) => void,
  what: string,
  task: () => Promise<void>,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await task();
    } catch (error) {
      if (!stopped(signal)) warn(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
    await pause(intervalMs, signal);
  }
}

/** Runs `round` again and again; after a round that handled nothing it waits `idleMs`, after a failure longer. */
export async function forever(
  signal: AbortSignal,
  warn: (line: string) => void,
  what: string,
  idleMs: number,
  round: () => Promise<number>,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      const handled = await round();
      failures = 0;
      if (handled === 0) await pause(idleMs, signal);
    } catch (error) {
      if (stopped(signal)) return;
      failures++;
      warn(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      await pause(Math.min(30_000, 200 * 2 ** Math.min(failures, 8)), signal);
    }
  }
}

export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Read through a call: TypeScript would keep `signal.aborted` narrowed across the awaits of a loop. */
export function stopped(signal: AbortSignal): boolean {
  return signal.aborted;
}
