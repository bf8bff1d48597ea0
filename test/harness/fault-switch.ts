import { StoreUnavailableError } from "../../core/errors.js";

export type FaultMode =
  | "up"
  /** Answers STORE_UNAVAILABLE without doing anything. */
  | "down"
  /** Does the work, then answers STORE_UNAVAILABLE: the answer got lost (the ambiguous case). */
  | "lost-answer"
  /** Never answers. */
  | "hang";

export interface FaultSwitch<T> {
  /** `target` behind the switch. */
  proxy: T;
  /** Every method call that reached the proxy, by name. */
  calls: string[];
  /** Fails the next `times` calls (all, by default) as `mode` says; "up" lets them through. */
  set: (mode: FaultMode, times?: number) => void;
}

/**
 * `target` (a store or one of its roles) behind a switch that injects backend failures into its async methods,
 * recording every call. Methods named in `passThrough` (e.g. `close`) always go through.
 */
export function faultSwitch<T extends object>(
  target: T,
  passThrough: readonly string[] = [],
): FaultSwitch<T> {
  const calls: string[] = [];
  let mode: FaultMode = "up";
  let remaining = Infinity;
  const proxy = new Proxy(target, {
    get(inner, property, receiver) {
      const value: unknown = Reflect.get(inner, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]): Promise<unknown> => {
        calls.push(property);
        const current = passThrough.includes(property) || remaining <= 0 ? "up" : mode;
        remaining--;
        if (current === "down") return Promise.reject(new StoreUnavailableError("backend down"));
        if (current === "hang") return new Promise(() => undefined);
        const result = method.apply(inner, args);
        if (current === "lost-answer")
          return result.then(() => Promise.reject(new StoreUnavailableError("answer lost")));
        return result;
      };
    },
  });
  return {
    proxy,
    calls,
    set: (next, times = Infinity) => {
      mode = next;
      remaining = times;
    },
  };
}
