/**
 * Levenshtein edit distance (insert, delete, substitute), where swapping two adjacent characters also counts as one
 * edit (the "optimal string alignment" variant), since `alcie` for `alice` is one typo, not two.
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (beforePrevious[j - 2] ?? 0) + 1);
      }
      current[j] = best;
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** How many edits still count as a typo: 1 for short names, 2 up to 8 characters, 3 beyond. */
export function allowedEdits(length: number): number {
  return length <= 4 ? 1 : length <= 8 ? 2 : 3;
}

/**
 * Candidates close to `input`, closest first: within `allowedEdits` of the input's length, or one being a prefix of
 * the other (at least 3 characters). At most `limit`.
 */
export function closeMatches(input: string, candidates: Iterable<string>, limit = 3): string[] {
  const needle = input.toLowerCase();
  const scored: { name: string; distance: number }[] = [];
  for (const name of new Set(candidates)) {
    if (name === input) continue;
    const hay = name.toLowerCase();
    const distance = levenshtein(needle, hay);
    const allowed = allowedEdits(needle.length);
    const prefix = needle.length >= 3 && (hay.startsWith(needle) || needle.startsWith(hay));
    if (distance <= allowed || prefix) scored.push({ name, distance });
  }
  scored.sort((x, y) => x.distance - y.distance || x.name.localeCompare(y.name));
  return scored.slice(0, limit).map((entry) => entry.name);
}

/** `"alice"`, `"alice" or "alina"`, `"a", "b" or "c"`. */
export function quoteList(names: readonly string[], conjunction = "or"): string {
  const quoted = names.map((name) => JSON.stringify(name));
  if (quoted.length <= 1) return quoted.join("");
  return `${quoted.slice(0, -1).join(", ")} ${conjunction} ${quoted[quoted.length - 1] ?? ""}`;
}

/**
 * The warning for a send to an agent nobody registered, or undefined when there is nothing to say: the agent is
 * registered, or the registry is empty (then no agent registers, and every name is as good as another).
 */
export function unknownAgentWarning(to: string, registered: readonly string[]): string | undefined {
  const name = to.split("@")[0] ?? to;
  if (registered.length === 0 || registered.includes(name)) return undefined;
  const matches = closeMatches(name, registered);
  const queued = "the message waits in its queue";
  if (matches.length > 0) {
    return `no agent ${JSON.stringify(name)} is registered; did you mean ${quoteList(matches)}? (${queued})`;
  }
  return `no agent ${JSON.stringify(name)} is registered (${queued}); registered agents: ${registered
    .slice(0, 5)
    .join(", ")}${registered.length > 5 ? ", ..." : ""}`;
}
