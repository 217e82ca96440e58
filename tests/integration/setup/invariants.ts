import { afterEach, expect } from 'vitest';
import { Recorder } from '../helpers/recorder';

// The invariants (total <= max, each borrowed connection with its holder, the waiting list)
// are checked at every event of every recorded engine; every test fails on one broken
// during it, not only the tests that ask. A recorder shared by a file's tests is checked
// after each of them for what broke since.
afterEach(() => {
  const broken = [...Recorder.unchecked].flatMap((r) => r.newlyBroken());
  expect(broken, 'pool invariants broken during this test').toEqual([]);
});
