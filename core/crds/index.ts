export * from "./agent-endpoint.js";
export * from "./common.js";
export * from "./delivery.js";
export * from "./gateway.js";
export * from "./message-domain.js";
