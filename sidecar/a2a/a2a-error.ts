import { JSON_RPC_ERRORS } from "../../core/api/a2a-api.js";
import { isBmnError } from "../../core/errors.js";

/** An error with the JSON-RPC code A2A names for it. */
export class A2aError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "A2aError";
  }
}

export const taskNotFound = (id: string): A2aError =>
  new A2aError(
    JSON_RPC_ERRORS.TASK_NOT_FOUND,
    `task ${id} is not known to this agent (or its retention ended)`,
  );

export const invalidParams = (message: string): A2aError =>
  new A2aError(JSON_RPC_ERRORS.INVALID_PARAMS, message);

/** The JSON-RPC error object for any failure: BMN's own errors keep their meaning, anything else is internal. */
export function toJsonRpcError(error: unknown): { code: number; message: string; data?: unknown } {
  if (error instanceof A2aError) return { code: error.code, message: error.message };
  if (isBmnError(error)) {
    const data = { errorCode: error.code, ...(error.field === undefined ? {} : { field: error.field }) };
    switch (error.code) {
      case "NOT_FOUND":
        return error.field === "taskId"
          ? { code: JSON_RPC_ERRORS.TASK_NOT_FOUND, message: error.message, data }
          : { code: JSON_RPC_ERRORS.INVALID_PARAMS, message: error.message, data };
      case "TASK_TERMINAL":
        return { code: JSON_RPC_ERRORS.UNSUPPORTED_OPERATION, message: error.message, data };
      case "STORE_UNAVAILABLE":
      case "STORE_FULL":
      case "TIMEOUT":
      case "OVERLOADED":
      case "TX_CONFLICT":
      case "INTERNAL":
        return { code: JSON_RPC_ERRORS.INTERNAL_ERROR, message: error.message, data };
      default:
        return { code: JSON_RPC_ERRORS.INVALID_PARAMS, message: error.message, data };
    }
  }
  return { code: JSON_RPC_ERRORS.INTERNAL_ERROR, message: "internal error" };
}
