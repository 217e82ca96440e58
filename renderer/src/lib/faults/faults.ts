// Faults for people: the link's conditions in a line, open outages, and each measured
// recovery as a row (how long until the pool served again, what failed meanwhile, what
// was lost and replaced, and any socket left behind).

import { type FaultKind, type Recovery, type Toxics, recoveryMs } from '../../../../shared/faults';
import type { Snapshot } from '../../../../shared/snapshot';
import { formatDuration } from '../format';

export const KIND_LABEL: Record<FaultKind, string> = {
  latency: 'latency',
  bandwidth: 'bandwidth limit',
  blackhole: 'blackhole',
  refuse: 'refused connections',
  reset: 'connections reset',
  terminate: 'session terminated',
  restart: 'database restart',
  tunnel: 'SSH tunnel dropped',
};

export interface RecoveryRow {
  faultId: number;
  kind: FaultKind;
  label: string;
  detail: string;
  /** From the fault to the pool serving again; "not yet" while it has not. */
  recovery: string;
  recovered: boolean;
  /** From the fault to it being lifted. */
  outage: string;
  /** Most frequent first. */
  failures: { message: string; count: number }[];
  failed: number;
  lost: number;
  opened: number;
  /** "–" when not measured. */
  socketsLeftOpen: string;
  /** Sockets of dropped connections still open: a leak the pool should not have. */
  leftOpen: boolean;
}

export function recoveryRow(r: Recovery): RecoveryRow {
  const ms = recoveryMs(r);
  const failures = r.failures.slice().sort((a, b) => b.count - a.count);
  return {
    faultId: r.faultId,
    kind: r.kind,
    label: KIND_LABEL[r.kind],
    detail: r.detail,
    recovery: ms === null ? 'not yet' : formatDuration(ms),
    recovered: ms !== null,
    outage: r.clearedAt === null ? '–' : formatDuration(r.clearedAt - r.startedAt),
    failures,
    failed: failures.reduce((n, f) => n + f.count, 0),
    lost: r.lost,
    opened: r.opened,
    socketsLeftOpen: r.socketsLeftOpen === null ? '–' : String(r.socketsLeftOpen),
    leftOpen: (r.socketsLeftOpen ?? 0) > 0,
  };
}

/** Newest first: the one just measured is where the eye lands. */
export function recoveryRows(recoveries: readonly Recovery[]): RecoveryRow[] {
  return recoveries.map(recoveryRow).reverse();
}

export type OpenOutage = Snapshot['faults']['open'][number];

/** "blackhole for 3.2 s", "database restart: lifted 1.0 s ago, waiting for the pool to serve". */
export function describeOpen(o: OpenOutage, now: number): string {
  const head = `${KIND_LABEL[o.kind]} for ${formatDuration(now - o.startedAt)}`;
  return o.liftedAt === null ? head : `${head}: lifted ${formatDuration(now - o.liftedAt)} ago, waiting for the pool to serve`;
}

/** The link in one line: "latency 50 ± 10 ms · 100 KB/s · blackhole"; "no faults" when clean. */
export function describeToxics(t: Toxics): string {
  const parts: string[] = [];
  if (t.latencyMs > 0 || t.jitterMs > 0) parts.push(`latency ${t.latencyMs}${t.jitterMs > 0 ? ` ± ${t.jitterMs}` : ''} ms`);
  if (t.bandwidthKbps > 0) parts.push(`${t.bandwidthKbps} KB/s`);
  if (t.blackhole) parts.push('blackhole');
  if (t.refuse) parts.push('refusing new connections');
  return parts.length === 0 ? 'no faults' : parts.join(' · ');
}

/** Whether `a` and `b` set the same conditions. */
export function sameToxics(a: Toxics, b: Toxics): boolean {
  return a.latencyMs === b.latencyMs && a.jitterMs === b.jitterMs && a.bandwidthKbps === b.bandwidthKbps && a.blackhole === b.blackhole && a.refuse === b.refuse;
}
