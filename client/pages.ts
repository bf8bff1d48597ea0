/** One page of a paginated list route; `nextCursor` is absent on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor?: string | undefined;
}

/**
 * Walks a paginated list one page after another, yielding items until `limit` items have come or the last page
 * has. The server bounds its work per page, so a long list costs many small requests, never one large one.
 */
export async function* paginate<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  limit = Number.POSITIVE_INFINITY,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  let yielded = 0;
  do {
    const page = await fetchPage(cursor);
    for (const item of page.items) {
      if (yielded >= limit) return;
      yield item;
      yielded++;
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined && yielded < limit);
}

/** All that `paginate` yields, as an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
