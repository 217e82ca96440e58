// One run of every part, in order, on both servers: the report the CLI prints and saves
// and the smoke test checks.

import { type AttachRow, measureAttach } from './attach';
import { type ClientsRow, type HostEntry, measureClients, thisTreeHost } from './clients';
import type { BenchConfig } from './config';
import { type TaxRow, measureTax } from './connection-tax';
import { type MachineInfo, machineInfo } from './machine';
import { type BaselinePool, type OverheadRow, measureOverhead } from './overhead';
import { ensureBuilt } from './page';
import { type PipelineResult, measurePipeline } from './pipeline';
import { type BenchServer, startServers } from './servers';
import { type SoakResult, measureSoak } from './soak';
import { type RecordingStopResult, measureRecordingStop } from './recording-stop';
import { type SpikeRow, measureSpikes } from './spikes';
import { type ViewResult, measureView } from './view';

export interface BenchReport {
  config: BenchConfig['name'];
  startedAt: string;
  seconds: number;
  machine: MachineInfo;
  overhead: OverheadRow[];
  /** The attach agent's cost to an app, per driver and concurrency (1 and 8). */
  attach: AttachRow[];
  tax: TaxRow[];
  pipeline: PipelineResult;
  view: ViewResult;
  soak: SoakResult;
  /** This tree's host, then the baseline's when one was given. */
  clients: ClientsRow[];
  /** A spike of borrowers left to time out, and one stopped, per server. */
  spikes: SpikeRow[];
  recordingStop: RecordingStopResult;
}

export interface BenchOptions {
  /** Another checkout's browser host for the clients part (`npm run bench -- --baseline DIR`). */
  baselineHost?: HostEntry;
  /** Another checkout's attach agent, for the attach part (same flag). */
  baselineAgent?: string;
  /** Another checkout's inspected pool, for the overhead part (same flag). */
  baselinePool?: BaselinePool;
}

export async function runBench(cfg: BenchConfig, log: (line: string) => void = () => {}, opts: BenchOptions = {}): Promise<BenchReport> {
  const startedAt = new Date();
  await ensureBuilt();
  const servers = await startServers();
  try {
    const machine = machineInfo(servers);
    const overhead: OverheadRow[] = [];
    for (const server of servers.list) overhead.push(...(await measureOverhead(cfg.overhead, server, log, opts.baselinePool)));
    const attach: AttachRow[] = [];
    for (const server of servers.list) attach.push(...(await measureAttach(cfg.overhead, server, log, opts.baselineAgent)));
    const tax: TaxRow[] = [];
    for (const server of servers.list) tax.push(await measureTax(cfg.tax, server, log));
    const pipeline = await measurePipeline(cfg.pipeline, log);
    const view = await measureView(cfg.view, log);
    const soak = await measureSoak(cfg.soak, servers.postgres, log);
    const hosts = [thisTreeHost(), ...(opts.baselineHost ? [opts.baselineHost] : [])];
    const clients = await measureClients(cfg.clients, servers.postgres, hosts, log);
    const spikes = await measureSpikes(cfg.spikes, servers.list, log);
    const recordingStop = await measureRecordingStop(cfg.recording, log);
    return { config: cfg.name, startedAt: startedAt.toISOString(), seconds: Math.round((Date.now() - startedAt.getTime()) / 1_000), machine, overhead, attach, tax, pipeline, view, soak, clients, spikes, recordingStop };
  } finally {
    await servers.stop();
  }
}

/** The view part alone (`npm run bench -- --only view`): the page in Chromium under a synthetic load. */
export async function runViewBench(cfg: BenchConfig, log: (line: string) => void): Promise<ViewResult> {
  await ensureBuilt();
  return measureView(cfg.view, log);
}

/** The overhead part alone (`npm run bench -- --only overhead`), on both servers. */
export function runOverheadBench(cfg: BenchConfig, log: (line: string) => void, opts: BenchOptions = {}): Promise<OverheadRow[]> {
  return onEachServer((server) => measureOverhead(cfg.overhead, server, log, opts.baselinePool));
}

/** The attach part alone (`npm run bench -- --only attach`), on both servers. */
export function runAttachBench(cfg: BenchConfig, log: (line: string) => void, opts: BenchOptions = {}): Promise<AttachRow[]> {
  return onEachServer((server) => measureAttach(cfg.overhead, server, log, opts.baselineAgent));
}

/** One part's rows on each server in turn, the servers started for it and stopped after. */
async function onEachServer<R>(measure: (server: BenchServer) => Promise<R[]>): Promise<R[]> {
  const servers = await startServers();
  try {
    const rows: R[] = [];
    for (const server of servers.list) rows.push(...(await measure(server)));
    return rows;
  } finally {
    await servers.stop();
  }
}
