// Shared pieces of the pages: the html tag, polling, formatting and small components.
import { h, type ComponentChildren, type VNode } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import uPlot from "uplot";
import { ApiError } from "./api.js";

export const html = htm.bind(h) as (strings: TemplateStringsArray, ...values: unknown[]) => VNode;

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  refresh: () => void;
}

/** Calls `load` now and every `everyMs` while the component is shown (never two at once); `deps` restart it. */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const value = await load();
        if (stopped) return;
        setData(value);
        setError(undefined);
      } catch (caught) {
        if (!stopped) setError(caught as Error);
      }
      if (!stopped && everyMs > 0) timer = setTimeout(() => void run(), everyMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return {
    data,
    error,
    refresh: () => {
      setTick((n) => n + 1);
    },
  };
}

export function ErrorNote({ error }: { error: Error | undefined }): VNode | null {
  if (error === undefined) return null;
  const code = error instanceof ApiError ? `${error.errorCode}: ` : "";
  return html`<p class="error" role="alert">${code}${error.message}</p>`;
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return "–";
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

export function formatAge(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "–";
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function formatDuration(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : formatAge(ms);
}

export function Section({ title, children }: { title: string; children?: ComponentChildren }): VNode {
  return html`<section aria-label=${title}>
    <h2>${title}</h2>
    ${children}
  </section>`;
}

export interface Series {
  label: string;
  stroke: string;
}

/** A uPlot line chart; `data` is [x values (seconds), ...one array per series]. */
export function Chart({
  title,
  series,
  data,
  height = 220,
}: {
  title: string;
  series: Series[];
  data: number[][];
  height?: number;
}): VNode {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const element = host.current;
    if (element === null) return;
    plot.current = new uPlot(
      {
        title,
        width: Math.max(320, element.clientWidth),
        height,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2 }))],
        // One point alone would stretch the time axis over years: give it a minute either side.
        scales: {
          x: { time: true, range: (_u, min, max) => (min === max ? [min - 60, max + 60] : [min, max]) },
        },
        axes: [{ stroke: "#1f2933" }, { stroke: "#1f2933" }],
      },
      data as uPlot.AlignedData,
      element,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [series.map((s) => s.label).join()]);
  useEffect(() => {
    const chart = plot.current;
    if (chart === null) return;
    chart.setData(data as uPlot.AlignedData);
    // One point alone would stretch the time axis over years: show a minute either side of it.
    const [only, ...more] = data[0] ?? [];
    if (only !== undefined && more.length === 0) chart.setScale("x", { min: only - 60, max: only + 60 });
  }, [data]);
  return html`<div class="chart" ref=${host} role="img" aria-label=${title}></div>`;
}

/** The hash route: `#/page/rest?query`. */
export function parseHash(hash: string): { page: string; rest: string; params: URLSearchParams } {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?");
  const [page = "", ...rest] = path.split("/");
  return { page, rest: rest.map(decodeURIComponent).join("/"), params: new URLSearchParams(search) };
}
