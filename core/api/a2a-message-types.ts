/**
 * The CloudEvents types that carry A2A traffic through BMN. Kept apart from the A2A schemas so the agent client
 * (and `bmn send`) can name them without loading zod.
 */

/** What an A2A client sends an agent through BMN: a message, or a cancel. */
export const A2A_MESSAGE_TYPE = "network.beastmode.a2a.message";
export const A2A_CANCEL_TYPE = "network.beastmode.a2a.cancel";
/** An agent's report on a task of another domain, on its way to that domain's task inbox. */
export const A2A_EVENT_TYPE = "network.beastmode.a2a.event";
