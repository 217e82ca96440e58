// How long and how hard each part of the bench runs. `full` is `npm run bench`, `quick`
// is `--quick` (a few minutes), `smoke` is the test in `npm test`: every figure is
// produced, none of it is meant to be read as a measurement.

export interface BenchConfig {
  name: 'full' | 'quick' | 'smoke';
  overhead: {
    concurrency: number[];
    /** Seconds of one timed run (one side, one cell). */
    runSeconds: number;
    /** bare/inspected pairs per cell, interleaved. */
    rounds: number;
    /** Seconds of load before the first timed run of a cell (pools open their connections). */
    warmSeconds: number;
    /** Pool size of both sides (the app's default). */
    poolMax: number;
    /**
     * Seconds each attached app copy serves its row's clients before the attach part's first
     * timed run: V8 keeps optimising an app's code (and the agent's) for about its first 90,000
     * requests, 3-6 s at 1 client pinned here; measured, the copies are an app that has served for
     * a while.
     */
    attachWarmSeconds: number;
    /**
     * App copies per side in the attach part, taking its rounds in turn: one copy stays faster
     * or slower than another of the same code by up to several percent for its whole life (7
     * points between two copies with the same agent, nothing listening, in one pinned run), so a
     * side measured on one copy carries that copy's luck.
     */
    attachCopies: number;
  };
  /** `appSeconds`: the app's comparison in all, split into one segment after each of the bench's rounds. */
  tax: { concurrency: number; runSeconds: number; rounds: number; appSeconds: number };
  pipeline: { rates: number[]; stepSeconds: number };
  view: { connections: number; waiting: number; eventsPerSecond: number; settleSeconds: number; measureSeconds: number };
  soak: { seconds: number; warmSeconds: number; concurrency: number; sampleSeconds: number };
  /** WebSocket clients attempted at once, borrowers in the spike, seconds measured after its last one. */
  clients: { attempted: number; spike: number; settleSeconds: number };
  /** Borrowers in a spike on a pool of 10, how long each holder sleeps, the acquire timeout of the run left to time out. */
  spikes: { count: number; sleepMs: number; timeoutMs: number };
  /** Raw events in the recording stopped (the app's cap is 2 M). */
  recording: { events: number };
}

export const FULL: BenchConfig = {
  name: 'full',
  // Many short rounds rather than a few long ones: the machine's speed here changes from
  // one few-second spell to the next, and 5 s runs in 3 rounds put a whole spell on one side
  // (PostgreSQL SELECT 1 at 1 client read 74%, 88% and 100% in three runs of the same hot path).
  overhead: { concurrency: [1, 8, 64], runSeconds: 1, rounds: 15, warmSeconds: 1, poolMax: 10, attachWarmSeconds: 10, attachCopies: 2 },
  tax: { concurrency: 2, runSeconds: 5, rounds: 3, appSeconds: 30 },
  pipeline: { rates: [25_000, 50_000, 100_000, 150_000, 200_000, 300_000, 400_000], stepSeconds: 5 },
  view: { connections: 500, waiting: 10_000, eventsPerSecond: 50_000, settleSeconds: 3, measureSeconds: 10 },
  soak: { seconds: 600, warmSeconds: 30, concurrency: 32, sampleSeconds: 10 },
  clients: { attempted: 200, spike: 2_000, settleSeconds: 5 },
  spikes: { count: 10_000, sleepMs: 200, timeoutMs: 10_000 },
  recording: { events: 2_000_000 },
};

export const QUICK: BenchConfig = {
  name: 'quick',
  overhead: { concurrency: [1, 8, 64], runSeconds: 0.5, rounds: 6, warmSeconds: 0.5, poolMax: 10, attachWarmSeconds: 3, attachCopies: 1 },
  // The app's panel reports once a second; a segment's first report is left out, and 5 s gave 3 reports in all: too few to compare at 20%.
  tax: { concurrency: 2, runSeconds: 2, rounds: 2, appSeconds: 10 },
  pipeline: { rates: [50_000, 100_000, 200_000, 300_000], stepSeconds: 2 },
  view: { connections: 500, waiting: 10_000, eventsPerSecond: 50_000, settleSeconds: 2, measureSeconds: 5 },
  soak: { seconds: 60, warmSeconds: 10, concurrency: 32, sampleSeconds: 5 },
  clients: { attempted: 200, spike: 2_000, settleSeconds: 3 },
  spikes: { count: 10_000, sleepMs: 200, timeoutMs: 5_000 },
  recording: { events: 500_000 },
};

/** Tiny and fast: checks the harness, not the code it measures. */
export const SMOKE: BenchConfig = {
  name: 'smoke',
  overhead: { concurrency: [1, 2], runSeconds: 0.25, rounds: 1, warmSeconds: 0.1, poolMax: 2, attachWarmSeconds: 0.1, attachCopies: 2 },
  // The app's comparison reports once both sides had their turn (about 1 s), and its first report is skipped.
  tax: { concurrency: 1, runSeconds: 0.4, rounds: 1, appSeconds: 3 },
  pipeline: { rates: [5_000, 10_000], stepSeconds: 0.5 },
  view: { connections: 20, waiting: 200, eventsPerSecond: 2_000, settleSeconds: 0.5, measureSeconds: 1 },
  soak: { seconds: 2, warmSeconds: 0.5, concurrency: 2, sampleSeconds: 0.5 },
  clients: { attempted: 20, spike: 50, settleSeconds: 0.5 },
  spikes: { count: 60, sleepMs: 200, timeoutMs: 300 },
  recording: { events: 20_000 },
};
