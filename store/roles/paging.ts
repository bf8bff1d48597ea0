/** Listing pages (queues, dead letters): what a page holds by default and at most, as the HTTP contract says. */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../core/api/common.js";
