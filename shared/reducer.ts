import type { PoolEvent, TxStatus } from './events';
import { record } from './histogram';
import { REFUSED_BY_SERVER } from './faults';
import { CLOSED_KEPT, RECOVERIES_KEPT, SMOOTH_INTERVALS, SOURCE_NOTES_KEPT, type ConnState, type ConnectionView, type Snapshot, idRecord, isBorrowedState, ownRecords } from './snapshot';

// The one reducer: the engine folds its events into the live snapshot with it, the
// renderer folds batches with it, a replay rebuilds any moment with it.
//
// It is deterministic (the result depends only on the snapshot and the event) but it
// updates the snapshot in place and returns it: at 100k events/s, copying maps per
// event would cost more than the pools being watched. Callers that need an immutable
// copy (a renderer store, a recording mark) clone once per batch, not per event.

function setState(conn: ConnectionView, state: ConnState, t: number): void {
  if (conn.state !== state) {
    conn.state = state;
    conn.stateSince = t;
  }
}

function heldState(tx: TxStatus): ConnState {
  return tx === 'active' ? 'in-transaction' : tx === 'failed' ? 'in-failed-transaction' : 'borrowed';
}

function leaving(state: ConnState): boolean {
  return state === 'closing' || state === 'broken' || state === 'closed';
}

function removeWaiter(s: Snapshot, borrowerId: string): void {
  const i = s.waiting.indexOf(borrowerId);
  if (i === 0) s.waiting.shift();
  else if (i > 0) s.waiting.splice(i, 1);
}

function setTx(conn: ConnectionView, tx: TxStatus, t: number): void {
  conn.tx = tx;
  if (isBorrowedState(conn.state)) setState(conn, heldState(tx), t);
}

/** A run's window with its newest interval: a new array (a view holding the old one keeps it), SMOOTH_INTERVALS long at most. */
function withInterval<T>(recent: T[], interval: T): T[] {
  return [...recent, interval].slice(-SMOOTH_INTERVALS);
}

export function reduce(s: Snapshot, e: PoolEvent): Snapshot {
  // A snapshot that came through JSON or structuredClone: its id-keyed records get null
  // prototypes before the first event is folded in (one check per event otherwise).
  if (Object.getPrototypeOf(s.connections) !== null) ownRecords(s);
  // The latest, not the last: a summary (main/engine/event-folder.ts) stands where its
  // run began and carries the seq and time where it ended.
  if (e.seq > s.seq) s.seq = e.seq;
  if (e.t > s.t) s.t = e.t;
  const c = s.counters;
  switch (e.type) {
    case 'embedded.progressed':
      s.embedded = { phase: e.phase, message: e.message };
      break;
    case 'target.failed':
      s.targetError = e.message;
      break;
    case 'pool.created':
      s.pools[e.poolId] = { id: e.poolId, target: e.target, settings: e.settings, status: 'open', serverVersion: null, tlsSession: null };
      break;
    case 'load.changed':
      s.load = { running: e.running, concurrency: e.concurrency, rate: e.rate, query: e.query, sleepMs: e.sleepMs, leakOneIn: e.leakOneIn };
      // A load started or changed: the latest interval was another load's (its last window after
      // it stopped says 0 in flight). A stopped load keeps its last window.
      if (e.running) s.loadStats = null;
      break;
    // A start (or restart) is a new run: its panel smooths its own intervals only. A stopped run
    // keeps its last ones.
    case 'compare.changed':
      s.comparison = { running: e.running, concurrency: e.concurrency, query: e.query, perRequestPoolId: e.perRequestPoolId, recent: e.running ? [] : (s.comparison?.recent ?? []) };
      break;
    case 'compare.stats': {
      const { type: _type, seq: _seq, ...interval } = e;
      if (s.comparison) s.comparison.recent = withInterval(s.comparison.recent, interval);
      break;
    }
    case 'pattern.changed':
      s.patterns = { running: e.running, concurrency: e.concurrency, paymentMs: e.paymentMs, emailMs: e.emailMs, recent: e.running ? [] : (s.patterns?.recent ?? []) };
      break;
    case 'pattern.stats': {
      const { type: _type, seq: _seq, ...interval } = e;
      if (s.patterns) s.patterns.recent = withInterval(s.patterns.recent, interval);
      break;
    }
    case 'tunnel.changed':
      s.tunnel = { up: e.up, message: e.message, since: e.t };
      break;
    case 'server.observed':
      s.server = { t: e.t, sessions: e.sessions, maxConnections: e.maxConnections, reserved: e.reserved, monitorId: e.monitorId, note: e.note };
      break;
    case 'load.stats': {
      const { type: _type, seq: _seq, ...stats } = e;
      s.loadStats = stats;
      break;
    }
    case 'pool.verified': {
      const p = s.pools[e.poolId];
      const before = s.activePoolId === null ? undefined : s.pools[s.activePoolId]?.target.display;
      // Another target: the diagnosis and the scenario's note were about the one before.
      if (p && before !== p.target.display) {
        s.lastTimeout = null;
        if (s.scenario) clearNote(s.scenario);
      }
      if (p) {
        p.serverVersion = e.serverVersion;
        p.tlsSession = e.tls;
      }
      s.activePoolId = e.poolId;
      s.targetError = null;
      break;
    }
    case 'pool.draining':
    case 'pool.ending':
    case 'pool.ended': {
      const p = s.pools[e.poolId];
      if (p) p.status = e.type === 'pool.draining' ? 'draining' : e.type === 'pool.ending' ? 'ending' : 'ended';
      break;
    }
    case 'connection.connecting':
      s.connections[e.connId] = {
        id: e.connId,
        poolId: e.poolId,
        serverId: null,
        state: 'connecting',
        stateSince: e.t,
        openedAt: e.t,
        uses: 0,
        borrowerId: null,
        tx: 'idle',
        txSince: null,
        txStatements: 0,
        statement: null,
        statementSince: null,
        lastStatementAt: null,
        lastError: null,
        handshake: null,
        closeReason: null,
      };
      break;
    case 'connection.opened': {
      const conn = s.connections[e.connId];
      if (!conn) break;
      conn.serverId = e.serverId;
      conn.handshake = e.handshake;
      c.opened++;
      if (conn.state === 'connecting') setState(conn, 'idle', e.t);
      break;
    }
    case 'connection.broken': {
      const conn = s.connections[e.connId];
      if (!conn) break;
      conn.lastError = e.error;
      if (conn.state !== 'closed') setState(conn, 'broken', e.t);
      break;
    }
    case 'connection.closing': {
      const conn = s.connections[e.connId];
      if (!conn) break;
      conn.closeReason = e.reason;
      if (!leaving(conn.state)) setState(conn, 'closing', e.t);
      break;
    }
    case 'connection.closed': {
      const conn = s.connections[e.connId];
      if (!conn) break;
      delete s.connections[e.connId];
      conn.closeReason = e.reason;
      if (e.error !== null) conn.lastError = e.error;
      conn.statement = null;
      setState(conn, 'closed', e.t);
      s.closed.push(conn);
      if (s.closed.length > CLOSED_KEPT) s.closed.shift();
      c.closed++;
      c.closedBy[e.reason] = (c.closedBy[e.reason] ?? 0) + 1;
      const inst = s.instances;
      if (inst && e.reason === 'connect failed' && e.error !== null && REFUSED_BY_SERVER.test(e.error) && inst.poolIds.includes(conn.poolId)) {
        inst.refusals[conn.poolId] = (inst.refusals[conn.poolId] ?? 0) + 1;
        inst.lastRefusal = { poolId: conn.poolId, message: e.error, t: e.t };
      }
      break;
    }
    case 'borrower.enqueued':
      s.borrowers[e.borrowerId] = {
        id: e.borrowerId,
        poolId: e.poolId,
        label: e.label,
        site: e.site,
        state: 'waiting',
        enqueuedAt: e.t,
        deadline: e.deadline,
        acquiredAt: null,
        connId: null,
        statements: 0,
        flagged: false,
        receivedDirty: false,
      };
      s.waiting.push(e.borrowerId);
      c.enqueued++;
      break;
    case 'borrower.acquired': {
      removeWaiter(s, e.borrowerId);
      const b = s.borrowers[e.borrowerId];
      if (b) {
        b.state = 'holding';
        b.acquiredAt = e.t;
        b.connId = e.connId;
      }
      const conn = s.connections[e.connId];
      if (b && conn && conn.tx !== 'idle') b.receivedDirty = true;
      if (conn) {
        conn.borrowerId = e.borrowerId;
        conn.uses++;
        if (!leaving(conn.state)) setState(conn, heldState(conn.tx), e.t);
      }
      record(s.acquireWait, e.waitedMs);
      c.acquired++;
      break;
    }
    case 'borrower.timedout':
    case 'borrower.failed': {
      const b = s.borrowers[e.borrowerId];
      const target = b ? s.pools[b.poolId]?.target.display : undefined;
      const active = s.activePoolId === null ? undefined : s.pools[s.activePoolId]?.target.display;
      // A pool left draining on the previous target does not speak for the current one.
      if (e.type === 'borrower.timedout' && b && (target === undefined || active === undefined || target === active)) {
        s.lastTimeout = { borrowerId: e.borrowerId, poolId: b.poolId, target: target ?? '', label: b.label, site: b.site, t: e.t, message: e.message, diagnosis: e.diagnosis };
      }
      removeWaiter(s, e.borrowerId);
      delete s.borrowers[e.borrowerId];
      if (e.type === 'borrower.timedout') c.timedOut++;
      else c.failed++;
      break;
    }
    case 'borrower.cancelled':
      removeWaiter(s, e.borrowerId);
      delete s.borrowers[e.borrowerId];
      break;
    case 'borrower.flagged': {
      const b = s.borrowers[e.borrowerId];
      if (b) b.flagged = true;
      c.leaksFlagged++;
      break;
    }
    case 'leak.thresholdset':
      s.leakThresholdMs = e.thresholdMs;
      break;
    case 'borrower.released': {
      delete s.borrowers[e.borrowerId];
      const conn = s.connections[e.connId];
      if (conn && conn.borrowerId === e.borrowerId) {
        conn.borrowerId = null;
        conn.statement = null;
        if (!leaving(conn.state)) setState(conn, 'idle', e.t);
      }
      c.released++;
      if (e.destroyed) c.destroyed++;
      if (e.dirty) c.dirtyReturns++;
      break;
    }
    case 'statement.started': {
      const conn = s.connections[e.connId];
      c.statements++;
      if (!conn) break;
      conn.statement = e.sql;
      conn.statementSince = e.t;
      if (conn.tx !== 'idle') conn.txStatements++;
      const b = conn.borrowerId === null ? undefined : s.borrowers[conn.borrowerId];
      if (b) b.statements++;
      break;
    }
    case 'statement.finished': {
      const conn = s.connections[e.connId];
      if (e.error !== null) c.statementErrors++;
      if (!conn) break;
      conn.statement = null;
      conn.statementSince = null;
      conn.lastStatementAt = e.t;
      if (e.error !== null) conn.lastError = e.error;
      break;
    }
    case 'statement.summary': {
      c.statements += e.started;
      c.statementErrors += e.errors;
      const conn = s.connections[e.connId];
      if (!conn) break;
      conn.statement = e.sql;
      conn.statementSince = e.since;
      if (e.finishedAt !== null) conn.lastStatementAt = e.finishedAt;
      if (e.lastError !== null) conn.lastError = e.lastError;
      if (conn.tx !== 'idle') conn.txStatements += e.started;
      const b = conn.borrowerId === null ? undefined : s.borrowers[conn.borrowerId];
      if (b) b.statements += e.started;
      break;
    }
    case 'borrower.summary': {
      c.enqueued += e.served;
      c.acquired += e.served;
      c.released += e.served;
      for (const w of e.waits) record(s.acquireWait, w);
      c.statements += e.started;
      c.statementErrors += e.errors;
      const conn = s.connections[e.connId];
      if (!conn) break;
      conn.uses += e.served;
      conn.borrowerId = null;
      conn.statement = null;
      if (e.finishedAt !== null) {
        conn.statementSince = null;
        conn.lastStatementAt = e.finishedAt;
      }
      if (e.lastError !== null) conn.lastError = e.lastError;
      // Each borrower took it out of idle and put it back: idle since the last release.
      if (!leaving(conn.state)) {
        conn.state = 'idle';
        conn.stateSince = e.releasedAt;
      }
      break;
    }
    case 'fault.changed':
      s.faults.toxics = e.toxics;
      s.faults.proxy = e.proxy;
      break;
    case 'fault.injected':
      s.faults.open.push({ faultId: e.faultId, kind: e.kind, detail: e.detail, startedAt: e.t, liftedAt: null });
      break;
    case 'fault.lifted': {
      const f = s.faults.open.find((x) => x.faultId === e.faultId);
      if (f) f.liftedAt = e.t;
      break;
    }
    case 'fault.recovered': {
      const { type: _type, seq: _seq, t: _t, ...recovery } = e;
      s.faults.open = s.faults.open.filter((x) => x.faultId !== e.faultId);
      s.faults.recoveries.push(recovery);
      if (s.faults.recoveries.length > RECOVERIES_KEPT) s.faults.recoveries.shift();
      break;
    }
    case 'instances.changed': {
      const same = s.instances && s.instances.poolIds.join() === e.poolIds.join();
      s.instances = {
        running: e.running,
        count: e.count,
        poolSize: e.poolSize,
        query: e.query,
        poolIds: e.poolIds,
        refusals: same && s.instances ? s.instances.refusals : idRecord(),
        lastRefusal: same && s.instances ? s.instances.lastRefusal : null,
      };
      break;
    }
    case 'sweep.changed':
      s.sweep = { running: e.running, sizes: e.sizes, secondsEach: e.secondsEach, clients: e.clients, query: e.query, points: e.running && !s.sweep?.running ? [] : (s.sweep?.points ?? []) };
      break;
    case 'sweep.measured': {
      const { type: _type, seq: _seq, t: _t, ...point } = e;
      s.sweep?.points.push(point);
      break;
    }
    case 'scenario.opened':
      // Opened or restarted: a timeout from before belongs to the run before.
      s.lastTimeout = null;
      // A copy: scenario.stepped replaces its entries, and the event must stay as it was for a replay.
      s.scenario = { name: e.name, title: e.title, description: e.description, state: 'paused', current: 0, steps: [...e.steps],
        note: null,
        noteStep: null,
        readMs: null,
        goal: null,
        spotlight: null,
        target: e.target ?? null,
        review: e.review ?? null,
      };
      break;
    case 'scenario.confirmed':
      if (s.scenario?.review?.id === e.id) s.scenario.review = null;
      break;
    case 'scenario.changed':
      if (s.scenario) {
        s.scenario.state = e.state;
        s.scenario.current = e.current;
        s.scenario.goal = e.goal ?? null;
        if (e.current === 0 && e.state !== 'playing') clearNote(s.scenario);
      }
      break;
    case 'scenario.stepped':
      if (s.scenario) {
        s.scenario.steps[e.outcome.index] = e.outcome;
        // The reading time is over once a later step runs.
        if (e.outcome.status === 'running' && e.outcome.index !== s.scenario.noteStep) s.scenario.readMs = null;
      }
      break;
    case 'scenario.noted':
      if (s.scenario) {
        s.scenario.note = e.text;
        s.scenario.noteStep = e.index;
        s.scenario.readMs = e.readMs ?? null;
        s.scenario.spotlight = e.spotlight ?? null;
      }
      break;
    case 'scenario.closed':
      // The diagnosis belonged to the run that is gone.
      s.scenario = null;
      s.lastTimeout = null;
      break;
    case 'record.changed':
      s.recording = { active: e.recording, fromSeq: e.fromSeq };
      break;
    case 'source.attached':
      s.sources[e.sourceId] = { id: e.sourceId, pid: e.pid, command: e.command, runtime: e.runtime, thread: e.thread ?? null, status: 'attached', since: e.t, poolIds: [], drivers: [], dropped: 0, siteBudget: e.siteBudget ?? null, notSampled: 0, notes: [] };
      break;
    case 'source.pooled': {
      const src = s.sources[e.sourceId];
      if (src && !src.poolIds.includes(e.poolId)) {
        src.poolIds.push(e.poolId);
        if (!src.drivers.includes(e.driver)) src.drivers.push(e.driver);
      }
      break;
    }
    case 'source.noted': {
      const src = s.sources[e.sourceId];
      if (src && src.notes.length < SOURCE_NOTES_KEPT) src.notes.push(e.message);
      break;
    }
    case 'source.dropped': {
      const src = s.sources[e.sourceId];
      if (src) src.dropped = e.dropped;
      break;
    }
    case 'source.unsampled': {
      const src = s.sources[e.sourceId];
      if (src) src.notSampled = e.notSampled;
      break;
    }
    case 'source.detached': {
      const src = s.sources[e.sourceId];
      if (src) {
        src.status = 'detached';
        src.since = e.t;
      }
      break;
    }
    case 'tx.began': {
      c.txBegan++;
      const conn = s.connections[e.connId];
      if (!conn) break;
      conn.txSince = e.t;
      conn.txStatements = 0;
      setTx(conn, 'active', e.t);
      break;
    }
    case 'tx.failed': {
      c.txFailed++;
      const conn = s.connections[e.connId];
      if (conn) setTx(conn, 'failed', e.t);
      break;
    }
    case 'tx.ended': {
      if (e.outcome === 'committed') c.txCommitted++;
      else c.txRolledBack++;
      const conn = s.connections[e.connId];
      if (!conn) break;
      conn.txSince = null;
      setTx(conn, 'idle', e.t);
      break;
    }
  }
  return s;
}

export function reduceAll(s: Snapshot, events: Iterable<PoolEvent>): Snapshot {
  for (const e of events) reduce(s, e);
  return s;
}

/** Folds one transport batch; the snapshot's seq becomes the batch's end even when summaries reorder seqs. */
export function applyBatch(s: Snapshot, batch: { to: number; events: readonly PoolEvent[] }): Snapshot {
  reduceAll(s, batch.events);
  s.seq = batch.to;
  return s;
}

function clearNote(scenario: NonNullable<Snapshot['scenario']>): void {
  scenario.note = null;
  scenario.noteStep = null;
  scenario.readMs = null;
  scenario.spotlight = null;
}
