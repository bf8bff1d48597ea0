export * from "./analytics-params.js";
export * from "./sql-analytics.js";
