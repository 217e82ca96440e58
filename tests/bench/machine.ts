import os from 'node:os';
import type { BenchServers } from './servers';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  /** 1-minute load average when the bench started: a shared machine shows it here. */
  loadAverage: number;
  os: string;
  node: string;
  servers: { postgres: string; mysql: string };
}

export function machineInfo(servers: BenchServers): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverage: Number((os.loadavg()[0] ?? 0).toFixed(2)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    servers: { postgres: servers.postgres.version, mysql: servers.mysql.version },
  };
}
