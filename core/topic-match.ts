import type { Topic, TopicPattern } from "./names.js";

/** AMQP-style matching: `*` matches exactly one segment, `#` matches zero or more. */
export function topicMatches(pattern: TopicPattern | string, topic: Topic | string): boolean {
  const patternSegments = pattern.split(".");
  const topicSegments = topic.split(".");
  const topicLength = topicSegments.length;
  // Dynamic programming from the end, one pattern segment at a time: `rest[t]` says whether the pattern
  // segments after the current one match topic segments t.. to the end. O(pattern × topic), where naive
  // backtracking over `#` is exponential (`#.#.#…x` against a long topic never finishes).
  let rest = Array.from({ length: topicLength + 1 }, (_, t) => t === topicLength);
  for (let p = patternSegments.length - 1; p >= 0; p--) {
    const segment = patternSegments[p];
    const current = new Array<boolean>(topicLength + 1).fill(false);
    for (let t = topicLength; t >= 0; t--) {
      if (segment === "#") {
        current[t] = rest[t] === true || (t < topicLength && current[t + 1] === true);
      } else {
        current[t] =
          t < topicLength && (segment === "*" || segment === topicSegments[t]) && rest[t + 1] === true;
      }
    }
    rest = current;
  }
  return rest[0] === true;
}
