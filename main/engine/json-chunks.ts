// A large value's JSON text made a chunk at a time, with a turn of the event loop between
// chunks: a recording at its cap (2 M events) stringified at once held the host for ~16 s.

/** Items of the big array stringified per chunk (a few ms of work on a slow machine). */
export const ITEMS_PER_CHUNK = 5_000;

/**
 * The JSON text of `value`, in pieces whose concatenation is `JSON.stringify(value)` with
 * `arrayKey` moved last: its other fields at once, then `arrayKey`'s items `perChunk` at a
 * time, yielding to the event loop before each chunk.
 */
export async function* jsonChunks<T extends object>(value: T, arrayKey: keyof T & string, perChunk = ITEMS_PER_CHUNK): AsyncGenerator<string> {
  const { [arrayKey]: items, ...rest } = value;
  if (!Array.isArray(items)) throw new TypeError(`${arrayKey} is not an array`);
  const head = JSON.stringify(rest);
  yield `${head.slice(0, -1)}${head === '{}' ? '' : ','}${JSON.stringify(arrayKey)}:[`;
  for (let i = 0; i < items.length; i += perChunk) {
    await new Promise((r) => setImmediate(r));
    const part = JSON.stringify(items.slice(i, i + perChunk));
    yield `${i > 0 ? ',' : ''}${part.slice(1, -1)}`;
  }
  yield ']}';
}
