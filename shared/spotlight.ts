// What a scenario's note points at: the part of the screen that shows what the note talks
// about, so that presenter mode has it on screen when the note shows. A closed set: the
// renderer's layout knows where each one is (renderer/src/components/picture/).

export const SPOTLIGHTS = ['waiting-line', 'lane', 'comparison', 'long-transaction', 'instances', 'sweep', 'database', 'diagnosis'] as const;
export type Spotlight = (typeof SPOTLIGHTS)[number];

/** What each one shows, for the file format's messages and docs. */
export const SPOTLIGHT_MEANING: Record<Spotlight, string> = {
  'waiting-line': "the app pool's waiting line in the pool picture",
  lane: "the app pool's lane in the pool picture (its slots)",
  comparison: 'the connection tax: per request versus pooled',
  'long-transaction': 'the long transaction next to its fix',
  instances: 'the app instances against max_connections',
  sweep: 'the pool-size sweep and its sweet spot',
  database: "the database's own sessions",
  diagnosis: "the last timeout's diagnosis",
};
