// The console's shell: navigation and the hash router (#/page/...), one page at a time.
import { render, type VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Agents } from "./agents.js";
import { Analytics } from "./analytics.js";
import { DeadLetters } from "./dead-letters.js";
import { html, parseHash } from "./kit.js";
import { Messages } from "./messages.js";
import { Overview } from "./overview.js";
import { Topology } from "./topology.js";
import { Trace } from "./trace.js";

const PAGES = [
  { page: "overview", label: "Overview" },
  { page: "agents", label: "Agents" },
  { page: "messages", label: "Messages" },
  { page: "dlq", label: "Dead letters" },
  { page: "trace", label: "Trace" },
  { page: "topology", label: "Topology" },
  { page: "analytics", label: "Analytics" },
];

function navigate(hash: string): void {
  window.location.hash = hash;
}

function Page({ hash }: { hash: string }): VNode {
  const { page, rest, params } = parseHash(hash);
  switch (page) {
    case "agents":
      return html`<${Agents} />`;
    case "messages":
      return html`<${Messages} key=${rest} queue=${rest} navigate=${navigate} />`;
    case "dlq":
      return html`<${DeadLetters}
        key=${params.get("agent") ?? ""}
        initialAgent=${params.get("agent") ?? ""}
      />`;
    case "trace":
      return html`<${Trace} key=${rest} id=${rest} navigate=${navigate} />`;
    case "topology":
      return html`<${Topology} />`;
    case "analytics":
      return html`<${Analytics} />`;
    default:
      return html`<${Overview} />`;
  }
}

function App(): VNode {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const update = (): void => {
      setHash(window.location.hash);
      document.getElementById("main")?.focus();
    };
    window.addEventListener("hashchange", update);
    return () => {
      window.removeEventListener("hashchange", update);
    };
  }, []);
  const current = parseHash(hash).page || "overview";
  const label = PAGES.find((p) => p.page === current)?.label ?? "Overview";
  useEffect(() => {
    document.title = `${label} · BMN console`;
  }, [label]);
  return html`
    <a
      class="skip"
      href="#main"
      onClick=${(e: Event) => {
        e.preventDefault();
        document.getElementById("main")?.focus();
      }}
      >Skip to content</a
    >
    <header>
      <span class="brand">BMN console</span>
      <nav aria-label="Pages">
        <ul>
          ${PAGES.map(
            (p) =>
              html`<li>
                <a href=${`#/${p.page}`} aria-current=${p.page === current ? "page" : undefined}
                  >${p.label}</a
                >
              </li>`,
          )}
        </ul>
      </nav>
    </header>
    <main id="main" tabindex="-1"><${Page} hash=${hash} /></main>
  `;
}

const root = document.getElementById("app");
if (root !== null) {
  root.textContent = "";
  render(html`<${App} />`, root);
}
