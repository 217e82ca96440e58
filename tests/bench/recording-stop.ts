// Part 8: stopping a recording at its cap. A recording of `events` raw events (a pool's
// everyday mix: borrowers asking, served, running a statement, releasing) is stopped through
// SessionRecorder, which writes its file text a chunk at a time; the host's event loop is
// watched meanwhile. Side by side, the same recording stringified at once (what the
// transports did with the object before): how long the host would have answered nothing.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { systemClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';
import { SessionRecorder } from '../../main/engine/recording';
import type { Recording } from '../../shared/scenario';
import type { BenchConfig } from './config';
import { round } from './stats';

export interface RecordingStopResult {
  events: number;
  megabytes: number;
  /** The recording stopped as the engine does it: from stop() to its text, and the longest stall meanwhile. */
  stopMs: number;
  longestStallMs: number;
  /** JSON.stringify of the same recording in one go: the stall it is. */
  atOnceMs: number;
}

function record(log: EventLog, events: number): void {
  const conn = 'p1.c1';
  for (let i = 1; i * 5 <= events; i++) {
    const borrowerId = `p1.b${i}`;
    log.emit({ type: 'borrower.enqueued', poolId: 'p1', borrowerId, label: `load #${i % 64}`, site: 'serveRequest (load/queries.ts:40)', deadline: null });
    log.emit({ type: 'borrower.acquired', borrowerId, connId: conn, waitedMs: 0.2 });
    log.emit({ type: 'statement.started', connId: conn, sql: 'SELECT title, price FROM books WHERE id = $1' });
    log.emit({ type: 'statement.finished', connId: conn, ms: 0.4, error: null });
    log.emit({ type: 'borrower.released', borrowerId, connId: conn, heldMs: 0.5, dirty: false, destroyed: false });
  }
}

export async function measureRecordingStop(cfg: BenchConfig['recording'], log: (line: string) => void): Promise<RecordingStopResult> {
  const events = new EventLog(systemClock);
  const recorder = new SessionRecorder(events, systemClock);
  events.emit({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c1' });
  recorder.start();
  record(events, cfg.events);
  events.deliver();

  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const t0 = performance.now();
  const text = await recorder.stop();
  const stopMs = round(performance.now() - t0, 0);
  delay.disable();
  const longestStallMs = round(delay.max / 1e6, 1);
  const recording = JSON.parse(text) as Recording;
  const megabytes = round(text.length / 2 ** 20, 1);

  const t1 = performance.now();
  JSON.stringify(recording);
  const atOnceMs = round(performance.now() - t1, 0);
  log(`recording stop: ${recording.events.length.toLocaleString('en')} events (${megabytes} MB) written in ${stopMs} ms, longest stall ${longestStallMs} ms; at once ${atOnceMs} ms`);
  return { events: recording.events.length, megabytes, stopMs, longestStallMs, atOnceMs };
}
