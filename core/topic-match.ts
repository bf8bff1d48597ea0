import type { Topic, TopicPattern } from "./names.js";

/** AMQP-style matching: `*` matches exactly one segment, `#` matches zero or more. */
export function topicMatches(pattern: TopicPattern | string, topic: Topic | string): boolean {
  return matchFrom(pattern.split("."), 0, topic.split("."), 0);
}

function matchFrom(pattern: string[], p: number, topic: string[], t: number): boolean {
  if (p === pattern.length) return t === topic.length;
  const segment = pattern[p];
  if (segment === "#") {
    for (let skip = t; skip <= topic.length; skip++) {
      if (matchFrom(pattern, p + 1, topic, skip)) return true;
    }
    return false;
  }
  if (t === topic.length) return false;
  return (segment === "*" || segment === topic[t]) && matchFrom(pattern, p + 1, topic, t + 1);
}
