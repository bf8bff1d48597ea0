/** A JSON-RPC SendMessage that creates a task and answers at once (returnImmediately). */
export const a2aSend = {
  jsonrpc: "2.0",
  id: 1,
  method: "SendMessage",
  params: {
    message: { messageId: "m-1", role: "ROLE_USER", parts: [{ text: "hi" }] },
    configuration: { returnImmediately: true },
  },
};
