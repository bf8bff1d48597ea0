/**
 * Settles as `promise` does, or rejects with `timedOut()` if it has not settled within `ms`; the timer is
 * cleared either way. The promise's work is not cancelled: it may still complete after the timeout.
 */
export async function raceTimeout<T>(promise: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(timedOut());
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
