import type {
  FastifyInstance,
  FastifySchemaCompiler,
  FastifySerializerCompiler,
  FastifyTypeProvider,
} from "fastify";
import type { z } from "zod";
import { validationErrorOf } from "../../core/api/describe-issue.js";

/**
 * Route schemas are zod schemas (core/api): this tells fastify's types what a validated request part and a
 * serialised answer look like. fastify-type-provider-zod does the same; these few lines spare the dependency.
 */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this["schema"] extends z.ZodType ? z.output<this["schema"]> : unknown;
  serializer: this["schema"] extends z.ZodType ? z.input<this["schema"]> : unknown;
}

const WHOLE: Record<string, string> = {
  body: "body",
  querystring: "query",
  params: "path",
  headers: "headers",
};

/** Validates a request part before the handler; the first issue answers 400 `{errorCode, field, message}`. */
const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const whole = WHOLE[httpPart ?? ""] ?? "input";
  return (data: unknown) => {
    // A request without a body reaches the validator as null: an empty object, so optional fields default.
    const result = schema.safeParse(httpPart === "body" && data === null ? {} : data);
    return result.success ? { value: result.data } : { error: validationErrorOf(result.error, { whole }) };
  };
};

/**
 * Serialises answers through their schema: only the fields the schema names go out, and an answer that does not
 * fit its schema is a 500, not a silent break of the contract.
 */
const serializerCompiler: FastifySerializerCompiler<z.ZodType> =
  ({ schema }) =>
  (data) =>
    JSON.stringify(schema.parse(data));

export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
}
