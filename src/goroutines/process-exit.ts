// Notices when a traced process is gone. A uprobe bound to a pid stays attached (and silent) after
// the process exits, so nothing from the kernel side says so; /proc does. The process's start time
// guards against its pid being reused by another process between two checks.
import { readFileSync } from 'node:fs';

interface ProcStat {
  state: string;
  startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], startTime: fields[19] };
}

/** True while `pid` names a live (not zombie) process. */
export function processAlive(pid: number): boolean {
  const s = readStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** A watch on a process from watchProcessExit. */
export interface ProcessExitWatch {
  /** Resolves once the process has exited (or is a zombie waiting for its parent). */
  readonly exited: Promise<void>;
  readonly hasExited: boolean;
  /** Stops checking; `exited` then never resolves unless it already has. */
  stop(): void;
}

/** Checks `pid` every `intervalMs` on an unref'd timer: it never keeps Node alive by itself. */
export function watchProcessExit(pid: number, intervalMs = 100): ProcessExitWatch {
  const start = readStat(pid)?.startTime;
  let resolve!: () => void;
  const exited = new Promise<void>((r) => (resolve = r));
  let timer: NodeJS.Timeout | undefined;
  const watch = {
    exited,
    hasExited: false,
    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  const check = (): void => {
    const s = readStat(pid);
    if (s === undefined || s.state === 'Z' || s.state === 'X' || s.startTime !== start) {
      watch.hasExited = true;
      watch.stop();
      resolve();
    }
  };
  check();
  if (!watch.hasExited) {
    timer = setInterval(check, intervalMs);
    timer.unref();
  }
  return watch;
}
