/**
 * Synchronous cleanup that must run however this process ends. A plain 'exit' listener is not enough:
 * vitest stops its fork workers with SIGTERM, and Node's default signal action skips 'exit' listeners.
 */
const hooks: (() => void)[] = [];
let ran = false;

function runHooks(): void {
  if (ran) return;
  ran = true;
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // Best effort: one failing hook must not stop the others while the process is going down.
    }
  }
}

const FATAL_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

function onSignal(signal: NodeJS.Signals): void {
  runHooks();
  // If nobody else handles this signal, restore the default action so the process still dies by it.
  if (process.listenerCount(signal) === 1) {
    process.off(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

process.on("exit", runHooks);
for (const signal of FATAL_SIGNALS) process.on(signal, onSignal);

/** Registers a synchronous hook; hooks run once, in registration order. */
export function onProcessExit(hook: () => void): void {
  hooks.push(hook);
}
