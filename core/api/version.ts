/** The version the sidecar reports in `/v1/info` and the OpenAPI document. */
export const API_VERSION = "0.1.0";
