/** Listing pages (queues, dead letters): what a page holds by default and at most. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;
