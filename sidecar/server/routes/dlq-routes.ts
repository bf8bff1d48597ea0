import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { NotFoundError } from "../../../core/errors.js";
import { DEAD_LETTER_REASONS } from "../../../store/store.js";
import { parseInput } from "../parse-input.js";
import type { RouteContext } from "../route-context.js";

const filter = {
  agent: z.string().optional(),
  reason: z.enum(DEAD_LETTER_REASONS).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
};
const listQuery = z.object({ ...filter, cursor: z.string().max(1_024).optional() });
const selectBody = z.object({ ...filter, ids: z.array(z.string()).max(10_000).optional() }).strict();
const replayBody = selectBody.extend({ to: z.string().optional() }).strict();

export function dlqRoutes({ store }: RouteContext) {
  return function plugin(app: FastifyInstance, _options: unknown, done: () => void): void {
    // One capped page (at most MAX_PAGE_SIZE records); `nextCursor` leads to the next one.
    app.get("/v1/dlq", async (request) => store.listDeadLetterPage(parseInput(listQuery, request.query)));

    app.get<{ Params: { agent: string; id: string } }>("/v1/dlq/:agent/:id", async (request) => {
      const letter = await store.getDeadLetter(request.params.agent, request.params.id);
      if (letter === undefined)
        throw new NotFoundError(`no dead letter ${request.params.id} for ${request.params.agent}`, {
          field: "id",
        });
      return letter;
    });

    app.post("/v1/dlq/replay", async (request) => {
      const { to, ...selection } = parseInput(replayBody, request.body ?? {});
      return { replayed: await store.replayDeadLetters(selection, to === undefined ? {} : { to }) };
    });

    app.post("/v1/dlq/purge", async (request) => ({
      purged: await store.purgeDeadLetters(parseInput(selectBody, request.body ?? {})),
    }));
    done();
  };
}
