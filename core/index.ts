export * from "./config.js";
export * from "./dead-letter.js";
export * from "./envelope.js";
export * from "./errors.js";
export * from "./ids.js";
export * from "./names.js";
export * from "./topic-match.js";
