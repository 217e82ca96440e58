// Per-connection state history for the swimlanes: one slot per 500 ms sample over the
// last 60 s. A connection that was borrowed for 2 ms inside an interval still shows as
// borrowed there: besides the state at sample time, every event of the interval says
// which state the connection was in (an `acquired` means it was borrowed, a `tx.ended`
// means it was in a transaction until then) and the slot keeps the most telling one.

import type { PoolEvent } from '../../../../shared/events';
import type { ConnState, Snapshot } from '../../../../shared/snapshot';

export const LANE_SLOTS = 120;

/** Slot codes; 0 = no data (the connection did not exist yet, or had gone). */
export const STATE_CODES: readonly (ConnState | null)[] = [
  null,
  'idle',
  'connecting',
  'borrowed',
  'in-transaction',
  'in-failed-transaction',
  'closing',
  'broken',
  'closed',
];
export const NO_DATA = 0;

const CODE: Record<ConnState, number> = {
  idle: 1,
  connecting: 2,
  borrowed: 3,
  'in-transaction': 4,
  'in-failed-transaction': 5,
  closing: 6,
  broken: 7,
  closed: 8,
};

/** Which state wins a slot when several were seen in one interval (higher wins). */
const RANK: readonly number[] = [
  0, // no data
  2, // idle
  4, // connecting
  5, // borrowed
  6, // in-transaction
  8, // in-failed-transaction
  3, // closing
  7, // broken
  1, // closed
];

export function codeOf(state: ConnState): number {
  return CODE[state];
}

export function stateOfCode(code: number): ConnState | null {
  return STATE_CODES[code] ?? null;
}

/** The state an event shows its connection was in at some point of the interval. */
export function impliedState(e: PoolEvent): ConnState | null {
  switch (e.type) {
    case 'connection.connecting':
      return 'connecting';
    case 'connection.opened':
      return 'idle';
    case 'connection.broken':
      return 'broken';
    case 'connection.closing':
      return 'closing';
    case 'connection.closed':
      return 'closed';
    case 'borrower.acquired':
    case 'borrower.flagged':
    case 'borrower.released':
    case 'statement.started':
    case 'statement.finished':
    case 'statement.summary':
    case 'borrower.summary':
      return 'borrowed';
    case 'tx.began':
    case 'tx.ended':
      return 'in-transaction';
    case 'tx.failed':
      return 'in-failed-transaction';
    default:
      return null;
  }
}

function stronger(a: number, b: number): number {
  return (RANK[b] ?? 0) > (RANK[a] ?? 0) ? b : a;
}

export class StateHistory {
  readonly slots: number;
  /** Oldest first; shifted left by one on each sample. */
  readonly #lanes = new Map<string, Uint8Array>();
  readonly #seen = new Map<string, number>();

  constructor(slots = LANE_SLOTS) {
    this.slots = slots;
  }

  /** Notes what the events of a batch show (call after the batch is folded). */
  note(events: readonly PoolEvent[]): void {
    for (const e of events) {
      const state = impliedState(e);
      if (state === null || !('connId' in e)) continue;
      const code = codeOf(state);
      this.#seen.set(e.connId, stronger(this.#seen.get(e.connId) ?? NO_DATA, code));
    }
  }

  /** Closes the interval: one slot per lane from the events noted and the states now. */
  sample(s: Snapshot): void {
    const last = this.slots - 1;
    for (const [id, lane] of this.#lanes) {
      lane.copyWithin(0, 1);
      const conn = s.connections[id];
      const code = stronger(conn ? codeOf(conn.state) : NO_DATA, this.#seen.get(id) ?? NO_DATA);
      lane[last] = code;
      if (code === NO_DATA && lane.every((c) => c === NO_DATA || c === CODE.closed)) this.#lanes.delete(id);
    }
    for (const conn of Object.values(s.connections)) {
      if (this.#lanes.has(conn.id)) continue;
      const lane = new Uint8Array(this.slots);
      lane[last] = stronger(codeOf(conn.state), this.#seen.get(conn.id) ?? NO_DATA);
      this.#lanes.set(conn.id, lane);
    }
    for (const [id, code] of this.#seen) {
      // Opened and closed inside one interval: still worth a slot.
      if (this.#lanes.has(id) || s.connections[id]) continue;
      const lane = new Uint8Array(this.slots);
      lane[last] = code;
      this.#lanes.set(id, lane);
    }
    this.#seen.clear();
  }

  /** Drops every lane (a rebase onto a different engine, say). */
  clear(): void {
    this.#lanes.clear();
    this.#seen.clear();
  }

  lane(id: string): Uint8Array | undefined {
    return this.#lanes.get(id);
  }

  /** Copies of all lanes, for publishing to the UI. */
  copy(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [id, lane] of this.#lanes) out.set(id, lane.slice());
    return out;
  }
}
