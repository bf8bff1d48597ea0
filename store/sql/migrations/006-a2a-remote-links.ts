import type { Migration } from "./migration.js";

/**
 * The bridge's link from an A2A task to the task an outside agent keeps for it (remote task id, push token):
 * a column of the task's row, so it lives and expires with the task. Adding it again changes nothing.
 */
export const a2aRemoteLinksSchema: Migration = {
  version: 6,
  name: "a2a-remote-links",
  statements: ({ tables: t }) => [`ALTER TABLE ${t.a2aTasks} ADD COLUMN IF NOT EXISTS remote_link TEXT NULL`],
};
