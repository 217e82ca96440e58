import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';

/**
 * Polls until what the page shows equals what the engine measured, both read in the same poll
 * (the engine first: the page shows it a moment later, so they agree once the page has caught
 * up), and `ready` holds for the engine's side. On timeout it says both, last read.
 */
export async function expectShownAsMeasured<E>(read: () => Promise<{ shown: unknown; engine: E }>, opts: { timeout: number; ready?: (engine: E) => boolean }): Promise<void> {
  let last: { shown: unknown; engine: E } | undefined;
  try {
    await expect
      .poll(
        async () => {
          last = await read();
          return isDeepStrictEqual(last.shown, last.engine) && (opts.ready?.(last.engine) ?? true);
        },
        { timeout: opts.timeout },
      )
      .toBe(true);
  } catch (err) {
    throw new Error(`the screen did not show what the engine measured: shown ${JSON.stringify(last?.shown)}, engine ${JSON.stringify(last?.engine)}`, { cause: err });
  }
}
