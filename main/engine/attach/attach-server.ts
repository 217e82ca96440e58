import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Clock } from '../clock';
import type { EventLog } from '../event-log';
import { type AgentMessage, type Hello, agentMessageSchema, helloSchema } from './agent-protocol';
import { AttachedSource } from './attached-source';

// Where agents find Poolscope: a loopback port and a per-run token, in a file only this user
// can read (0600 in a 0700 directory). The agent reads the same path (main/agent/channel.cjs):
// POOLSCOPE_ATTACH_FILE, else ~/.poolscope/attach.json. A socket that does not present the
// token in its first line within 3 s is closed before anything it sends is read.

const HELLO_MS = 3_000;
/** A line longer than this (an agent's batch is at most 16,384 rows) closes the socket. */
const MAX_LINE = 64 * 1024 * 1024;

export function defaultAttachFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.POOLSCOPE_ATTACH_FILE || join(homedir(), '.poolscope', 'attach.json');
}

export interface AttachServerOptions {
  log: EventLog;
  clock: Clock;
  newPoolId: () => string;
  file?: string;
}

export interface AttachServer {
  readonly port: number;
  readonly file: string;
  /** Attached processes now connected. */
  readonly attached: number;
  close(): Promise<void>;
}

/** The engine's receiver: each attached process becomes a source of the engine's own events. */
export function startAttachServer(opts: AttachServerOptions): Promise<AttachServer> {
  let nextSource = 0;
  return startAgentListener(opts.file ?? defaultAttachFile(), (hello) => {
    const source = new AttachedSource(`s${++nextSource}`, opts.log, opts.clock, opts.newPoolId, hello);
    return {
      message: (m) => (m.type === 'events' ? source.rows(m.events, m.dropped, m.notSampled ?? 0) : source.sync(m)),
      closed: () => source.detach(),
    };
  });
}

/** What a receiver does with one agent's checked lines, from its hello to its socket's close. */
export interface AgentSession {
  message(m: AgentMessage): void;
  closed(): void;
}

/**
 * Listens on loopback for agents, writes the port and a new token to `file`, and hands each
 * agent that presents the token to a session of its own (the engine's sources, `poolscope check`).
 */
export async function startAgentListener(file: string, accept: (hello: Hello) => AgentSession): Promise<AttachServer> {
  const token = randomBytes(24).toString('base64url');
  const sockets = new Set<Socket>();
  let attached = 0;

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let session: AgentSession | null = null;
    let buffered = '';
    const hello = setTimeout(() => socket.destroy(), HELLO_MS);
    hello.unref();
    const line = (text: string) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return;
      }
      if (session === null) {
        const h = helloSchema.safeParse(value);
        if (!h.success || !sameToken(h.data.token, token)) {
          socket.destroy();
          return;
        }
        clearTimeout(hello);
        attached++;
        session = accept(h.data);
        return;
      }
      const m = agentMessageSchema.safeParse(value);
      if (m.success) session.message(m.data);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE) {
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0 && !socket.destroyed) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        line(text);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(hello);
      sockets.delete(socket);
      if (session !== null) {
        attached--;
        session.closed();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  writePrivate(file, JSON.stringify({ port, token, pid: process.pid }));

  return {
    port,
    file,
    get attached() {
      return attached;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Only our own file: another Poolscope may have written its own since.
      try {
        if (readFileSync(file, 'utf8').includes(token)) rmSync(file);
      } catch {
        // Already gone.
      }
    },
  };
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Written whole (a reader never sees half of it) and readable by this user only. */
function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}
