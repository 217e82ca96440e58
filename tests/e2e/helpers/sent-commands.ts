import type { PoolscopeService } from '../../../main/engine/service';

export type SentCommand = { cmd: string; req: unknown };

/** Keeps every command the page sends to `service`, in order, in `sent` (which the caller owns). */
export function recordCommands(service: PoolscopeService, sent: SentCommand[]): void {
  const handle = service.handle.bind(service);
  service.handle = (cmd: unknown, req: unknown) => {
    sent.push({ cmd: String(cmd), req });
    return handle(cmd, req);
  };
}
