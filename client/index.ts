export { BmnClient, DEFAULT_URL } from "./client.js";
export type { BmnClientOptions, CallOptions, RequestOptions, TransactionOptions } from "./client.js";
export {
  BmnClientError,
  ClientTimeoutError,
  SidecarUnreachableError,
  isBmnClientError,
  type BmnClientErrorOptions,
} from "./errors.js";
export { MessageStream, ReceivedMessage } from "./message-stream.js";
export type { MessagesOptions } from "./message-stream.js";
export { Transaction, type Settleable } from "./transaction.js";
export { TypedClient, describeZodError } from "./typed.js";
export type { Schemas, TypedMessage, TypedSendOptions } from "./typed.js";
export * from "./types.js";
export { A2aAgentApi, A2A_CANCEL_TYPE, A2A_MESSAGE_TYPE, agentMessage } from "./a2a.js";
export type { A2aRequest, AgentCard, ReportOptions, StoredTaskEvent, TaskEventResult } from "./a2a.js";
