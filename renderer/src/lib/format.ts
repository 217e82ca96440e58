// Formatting for people: durations, percentiles, rates, target summaries. Pure, no DOM.

import type { EngineKind } from '../../../shared/events';
import type { PoolView } from '../../../shared/snapshot';

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** "450 ms", "3.2 s", "1 m 05 s", "2 h 03 m"; negative spans (clock skew) read as 0. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 1_000) return `${Math.floor(ms)} ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} m ${pad2(s % 60)} s`;
  return `${Math.floor(s / 3_600)} h ${pad2(Math.floor((s % 3_600) / 60))} m`;
}

/** A latency in milliseconds with a precision that suits its size; "–" when absent. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1_000).toFixed(1)} s`;
}

/** Small numbers as they are, large ones with k/M. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a < 10) return Number.isInteger(n) ? String(n) : n.toFixed(1);
  if (a < 10_000) return String(Math.round(n));
  if (a < 10_000_000) return `${(n / 1_000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** "PostgreSQL 18.4", "MariaDB 11.4.2", "MySQL 8.0.36". */
export function serverName(engine: EngineKind, version: string): string {
  if (engine === 'postgres') return `PostgreSQL ${version}`;
  const maria = /^(.*?)-MariaDB/i.exec(version);
  if (maria) return `MariaDB ${maria[1]}`;
  return `MySQL ${version}`;
}

/** One line: `postgres://postgres@127.0.0.1:5432/poolscope_demo · PostgreSQL 18.4 · pool max 10`. */
export function targetSummary(pool: PoolView | null): string {
  if (!pool) return 'No target';
  const parts = [pool.target.display];
  if (pool.serverVersion !== null) parts.push(serverName(pool.target.engine, pool.serverVersion));
  parts.push(`pool max ${pool.settings.max}`);
  return parts.join(' · ');
}

/** Cuts a statement to one line of at most `max` characters. */
export function truncate(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** Local wall time with milliseconds: "14:03:27.512". */
export function formatClock(t: number): string {
  const d = new Date(t);
  const ms = String(Math.floor(t % 1_000)).padStart(3, '0');
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${ms}`;
}
