// Part 6: the browser host with many clients. The host (engine, service, browser host) runs
// in a process of its own (clients-host.ts) on the embedded PostgreSQL; `attempted` WebSocket
// clients connect to it at once, each behaving as the page's store does (snapshot.get once
// in, again after every gap in the batches), then a spike of `spike` borrowers hits the pool.
// Measured in the host's process: its event loop delay and RSS growth from the spike until
// `settleSeconds` after its last borrower; counted here: the clients let in, refused (the
// cap), dropped (fell behind), the bytes they received and how often they rebased.
// `npm run bench -- --baseline DIR` runs the same part on another checkout's host as well.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { specToFields } from '../../main/engine/target-spec';
import type { HostCommand, HostReport, SpikeFigures } from './clients-host';
import type { BenchConfig } from './config';
import { RENDERER_ROOT } from './page';
import type { BenchServer } from './servers';
import { round } from './stats';

export interface ClientsRow extends Omit<SpikeFigures, 'spikeMs'> {
  /** Which host: 'this tree', or the baseline checkout. */
  host: string;
  attempted: number;
  accepted: number;
  /** Refused by the host's cap (closed with 1013 before they were in). */
  refused: number;
  /** Let in, then closed by the host during the spike (fell behind). */
  dropped: number;
  spike: number;
  spikeMs: number | null;
  rssGrowthMb: number;
  /** Received by all the clients from the spike to the end, MB. */
  receivedMb: number;
  /** snapshot.get after a gap, over all clients. */
  rebases: number;
}

/** A host to measure: this tree's, and the baseline's when `npm run bench -- --baseline DIR` bundled one. */
export interface HostEntry {
  label: string;
  /** A bundle (.mjs, `npm run bench`) or the source (.ts, run through tsx: the smoke test). */
  file: string;
}

export function thisTreeHost(): HostEntry {
  const bundled = path.join(import.meta.dirname, 'clients-host.mjs');
  return { label: 'this tree', file: existsSync(bundled) ? bundled : path.join(import.meta.dirname, 'clients-host.ts') };
}

/** One client, as the page's store uses the socket: counts bytes, follows `from`/`to`, rebases on a gap. */
class PageLikeClient {
  readonly ws: WebSocket;
  ready = false;
  closedCode: number | null = null;
  received = 0;
  rebases = 0;
  #lastTo = -1;
  #rebasing = false;
  #nextId = 1;

  constructor(url: string, origin: string, token: string | null, settled: () => void) {
    this.ws = new WebSocket(url, { headers: { Origin: origin }, perMessageDeflate: false });
    this.ws.on('error', () => {});
    this.ws.on('open', () => {
      if (token === null) this.#in(settled);
      else this.ws.send(JSON.stringify({ token }));
    });
    this.ws.on('close', (code) => {
      this.closedCode = code;
      settled();
    });
    this.ws.on('message', (data: Buffer) => {
      this.received += data.length;
      // The head of the message says enough; parsing every batch in 200 clients would measure this process.
      const head = data.subarray(0, 96).toString('latin1');
      const batch = /^\{"batch":\{"from":(-?\d+),"to":(-?\d+)/.exec(head);
      if (batch) {
        if (this.#rebasing) return;
        if (this.#lastTo >= 0 && Number(batch[1]) !== this.#lastTo + 1) return this.#rebase();
        this.#lastTo = Number(batch[2]);
        return;
      }
      const seq = /"res":\{"seq":(\d+)/.exec(head);
      if (seq) {
        this.#lastTo = Number(seq[1]);
        this.#rebasing = false;
        return;
      }
      if (head.startsWith('{"ready":true')) this.#in(settled);
    });
  }

  #in(settled: () => void): void {
    this.ready = true;
    this.#askSnapshot();
    settled();
  }

  #rebase(): void {
    this.rebases++;
    this.#askSnapshot();
  }

  #askSnapshot(): void {
    this.#rebasing = true;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ id: this.#nextId++, cmd: 'snapshot.get' }));
  }
}

function startHost(entry: HostEntry): { child: ChildProcess; next: () => Promise<HostReport>; send: (c: HostCommand) => void } {
  const args = entry.file.endsWith('.ts') ? ['--expose-gc', '--import', 'tsx', entry.file] : ['--expose-gc', entry.file];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: HostReport[] = [];
  const waiters: ((r: HostReport) => void)[] = [];
  child.on('message', (r: HostReport) => {
    const w = waiters.shift();
    if (w) w(r);
    else inbox.push(r);
  });
  const next = () =>
    new Promise<HostReport>((resolve, reject) => {
      const queued = inbox.shift();
      if (queued) return resolve(queued);
      child.once('exit', (code) => reject(new Error(`the host process (${entry.label}) exited with ${code}`)));
      waiters.push(resolve);
    });
  return { child, next, send: (c) => child.send(c) };
}

async function measureOne(cfg: BenchConfig['clients'], server: BenchServer, entry: HostEntry, log: (line: string) => void): Promise<ClientsRow> {
  const host = startHost(entry);
  const clients: PageLikeClient[] = [];
  try {
    host.send({ type: 'start', target: specToFields(server.spec, { secrets: true }), root: RENDERER_ROOT });
    const listening = await host.next();
    if (listening.type !== 'listening') throw new Error(`the host did not start: ${listening.type === 'failed' ? listening.message : listening.type}`);
    const url = new URL(listening.url);
    // This tree's host takes the token as the socket's first message; an older one in the URL's query.
    const token = url.hash.startsWith('#token=') ? url.hash.slice('#token='.length) : null;
    const wsUrl = `ws://${url.host}/ws${token === null ? url.search : ''}`;

    let pending = cfg.attempted;
    const allSettled = new Promise<void>((resolve) => {
      for (let i = 0; i < cfg.attempted; i++) {
        let once = false;
        clients.push(
          new PageLikeClient(wsUrl, url.origin, token, () => {
            if (once) return;
            once = true;
            if (--pending === 0) resolve();
          }),
        );
      }
    });
    await Promise.race([allSettled, new Promise((r) => setTimeout(r, 30_000))]);
    const accepted = clients.filter((c) => c.ready && c.closedCode === null);
    const refused = clients.filter((c) => !c.ready && c.closedCode !== null).length;
    log(`clients (${entry.label}): ${accepted.length} of ${cfg.attempted} in, ${refused} refused; spike of ${cfg.spike}`);
    for (const c of accepted) c.received = c.rebases = 0;

    host.send({ type: 'spike', count: cfg.spike, settleMs: cfg.settleSeconds * 1_000, maxMs: 120_000 });
    const spiked = await host.next();
    if (spiked.type !== 'spiked') throw new Error(`the spike failed: ${spiked.type === 'failed' ? spiked.message : spiked.type}`);
    const { type: _type, ...figures } = spiked;
    const row: ClientsRow = {
      host: entry.label,
      attempted: cfg.attempted,
      accepted: accepted.length,
      refused,
      dropped: accepted.filter((c) => c.closedCode !== null).length,
      spike: cfg.spike,
      ...figures,
      rssGrowthMb: round(figures.rssPeakMb - figures.rssBeforeMb),
      receivedMb: round(accepted.reduce((n, c) => n + c.received, 0) / 2 ** 20),
      rebases: accepted.reduce((n, c) => n + c.rebases, 0),
    };
    log(`clients (${entry.label}): spike done in ${row.spikeMs} ms, loop delay p99 ${row.loopDelayP99Ms} ms, max ${row.loopDelayMaxMs} ms, RSS +${row.rssGrowthMb} MB, ${row.receivedMb} MB to clients, ${row.dropped} dropped, ${row.rebases} rebases`);
    return row;
  } finally {
    for (const c of clients) c.ws.terminate();
    if (host.child.exitCode === null) {
      const exited = new Promise((r) => host.child.once('exit', r));
      host.send({ type: 'stop' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (host.child.exitCode === null) host.child.kill('SIGKILL');
    }
  }
}

export async function measureClients(cfg: BenchConfig['clients'], server: BenchServer, hosts: HostEntry[], log: (line: string) => void): Promise<ClientsRow[]> {
  const rows: ClientsRow[] = [];
  for (const entry of hosts) rows.push(await measureOne(cfg, server, entry, log));
  return rows;
}
