import type { FastifyInstance } from "fastify";
import { sidecarApi } from "../../../core/api/sidecar-api.js";
import { NotFoundError } from "../../../core/errors.js";
import type { DeadLetterSelection } from "../../../store/store.js";
import type { RouteContext } from "../route-context.js";
import { schemaOf } from "../route-schema.js";
import type { ZodTypeProvider } from "../zod-type-provider.js";

function dryRunAnswer(selection: DeadLetterSelection) {
  return { dryRun: true as const, matched: selection.count, letters: selection.letters };
}

export function dlqRoutes({ store }: RouteContext) {
  return function plugin(instance: FastifyInstance, _options: unknown, done: () => void): void {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(
      sidecarApi.listDeadLetters.url,
      { schema: schemaOf(sidecarApi.listDeadLetters) },
      // One capped page; `nextCursor` leads to the next one.
      async (request) => store.listDeadLetterPage(request.query),
    );

    app.get(
      sidecarApi.showDeadLetter.url,
      { schema: schemaOf(sidecarApi.showDeadLetter) },
      async (request) => {
        const letter = await store.getDeadLetter(request.params.agent, request.params.id);
        if (letter === undefined)
          throw new NotFoundError(`no dead letter ${request.params.id} for ${request.params.agent}`, {
            field: "id",
          });
        return letter;
      },
    );

    app.post(
      sidecarApi.replayDeadLetters.url,
      { schema: schemaOf(sidecarApi.replayDeadLetters) },
      async (request) => {
        const { to, dryRun, ...selection } = request.body;
        const options = to === undefined ? {} : { to };
        if (dryRun === true)
          return { replayed: 0, ...dryRunAnswer(await store.selectDeadLetters(selection, options)) };
        return { replayed: await store.replayDeadLetters(selection, options) };
      },
    );

    app.post(
      sidecarApi.purgeDeadLetters.url,
      { schema: schemaOf(sidecarApi.purgeDeadLetters) },
      async (request) => {
        const { dryRun, ...selection } = request.body;
        if (dryRun === true) return { purged: 0, ...dryRunAnswer(await store.selectDeadLetters(selection)) };
        return { purged: await store.purgeDeadLetters(selection) };
      },
    );
    done();
  };
}
