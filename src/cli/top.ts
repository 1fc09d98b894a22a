/**
 * `bgtasks top`: the live view in a terminal. It asks the daemon for a `snapshot`, then listens to
 * `watch` and asks again on each change (at most every MIN_REFRESH_MS) and every `--interval` while
 * tasks run, so elapsed times and progress move. The drawing is `renderTop`'s; this file owns the
 * terminal: the alternate screen, the hidden cursor, raw keys (q quits, c cancels the first continued
 * task, as the dashboard's Cancel), and putting all of it back however it ends.
 */
import { InvalidArgumentError } from 'commander';
import type { SystemSnapshot } from '../daemon/snapshot.js';
import { CliError, ControlClient } from './controlClient.js';
import { renderTop } from './topRender.js';

export interface TopOptions {
  readonly socketPath: string;
  readonly once: boolean;
  readonly json: boolean;
  readonly intervalMs: number;
}

/** A burst of events (a batch of submissions) costs one snapshot, not one per event. */
const MIN_REFRESH_MS = 200;
/** With nothing running, conditions read by sensors still change without an event: look now and then. */
const IDLE_REFRESH_MS = 5000;

export function parseInterval(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 100)
    throw new InvalidArgumentError(`expected a whole number of ms >= 100, got "${value}"`);
  return parsed;
}

export async function runTop(options: TopOptions): Promise<void> {
  const client = await ControlClient.connect(options.socketPath);
  try {
    if (options.once) {
      const snapshot = await client.call('snapshot', {});
      const out = process.stdout;
      const text = options.json
        ? JSON.stringify(snapshot, null, 2)
        : renderTop(snapshot, {
            width: out.columns || 100,
            height: Infinity,
            color: colorFor(out),
            now: Date.now(),
          }).join('\n');
      out.write(`${text}\n`);
      return;
    }
    await live(client, options);
  } finally {
    client.close();
  }
}

/** Colours only for a person at a terminal, and never when NO_COLOR is set (no-color.org). */
function colorFor(out: NodeJS.WriteStream): boolean {
  return Boolean(out.isTTY) && !process.env.NO_COLOR;
}

/**
 * The terminal while `top` owns it. Each frame is one write: home, each line then "clear to end of
 * line", then "clear below", inside a synchronized update where the terminal supports one, so no
 * frame is ever seen half drawn and nothing flickers.
 */
class Screen {
  #active = false;
  constructor(private readonly out: NodeJS.WriteStream) {}

  enter(): void {
    this.#active = true;
    this.out.write('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J');
  }

  draw(lines: readonly string[]): void {
    if (this.#active)
      this.out.write(`\x1b[?2026h\x1b[H${lines.map((line) => `${line}\x1b[K`).join('\r\n')}\x1b[J\x1b[?2026l`);
  }

  /** Idempotent: called on quit, on errors and on process exit. */
  restore(): void {
    if (!this.#active) return;
    this.#active = false;
    try {
      this.out.write('\x1b[0m\x1b[?25h\x1b[?1049l');
    } catch {
      // the terminal is gone (SIGHUP): nothing left to restore
    }
  }
}

/** The continued task `c` cancels: the first one listed under RUNNING that runs (not launching). */
function cancellable(snapshot: SystemSnapshot): SystemSnapshot['running'][number] | undefined {
  return snapshot.running.find((task) => task.kind === 'continued' && task.state === 'running');
}

function taskName(task: SystemSnapshot['running'][number]): string {
  return `"${[task.title, task.subtitle].filter(Boolean).join(' ') || task.identifier}"`;
}

function live(client: ControlClient, options: TopOptions): Promise<void> {
  const out = process.stdout;
  const stdin = process.stdin;
  // Not a terminal (redirected to a file): frames one after another, or JSON lines with --json.
  const screen = out.isTTY && !options.json ? new Screen(out) : null;
  const keys = screen !== null && Boolean(stdin.isTTY);
  let snapshot: SystemSnapshot | null = null;
  let lastFetch = 0;
  let fetching = false;
  let again = false;
  let pending: NodeJS.Timeout | null = null;
  let lastPlain = '';

  return new Promise<void>((resolve, reject) => {
    let finished = false;
    let notice: string | null = null;
    const onKey = (data: Buffer): void => {
      // Raw mode delivers Ctrl-C (0x03) and Ctrl-D (0x04) as bytes, not as signals.
      if ([...data].some((byte) => byte === 0x71 || byte === 0x51 || byte === 0x03 || byte === 0x04)) finish();
      else if ([...data].includes(0x63)) void cancelFirst(); // c
    };
    // `c`: the person's Cancel, as in the dashboard, for the first continued task listed under RUNNING.
    const cancelFirst = async (): Promise<void> => {
      const task = snapshot ? cancellable(snapshot) : undefined;
      if (!task) return;
      try {
        await client.call('cancel', { appId: task.appId, target: task.taskId });
        notice = `cancelled ${taskName(task)}: the app's expiration handler runs`;
      } catch (error) {
        notice = `could not cancel ${taskName(task)}: ${error instanceof Error ? error.message : String(error)}`;
      }
      soon();
    };
    const footer = (): string => {
      const task = snapshot ? cancellable(snapshot) : undefined;
      return [keys ? 'q quit' : 'Ctrl-C quit', keys && task ? `c cancel ${taskName(task)}` : null, notice]
        .filter(Boolean)
        .join(' · ');
    };
    const onSignal = (): void => finish();
    const onExit = (): void => screen?.restore();
    const draw = (): void => {
      if (!snapshot || finished) return;
      try {
        if (options.json) out.write(`${JSON.stringify(snapshot)}\n`);
        else if (screen)
          screen.draw(
            renderTop(snapshot, {
              width: Math.max(1, (out.columns || 80) - 1),
              height: out.rows || 24,
              color: colorFor(out),
              now: Date.now(),
              footer: footer(),
            }),
          );
        else {
          const frame = renderTop(snapshot, {
            width: out.columns || 100,
            height: Infinity,
            color: false,
            now: Date.now(),
          }).join('\n');
          if (frame !== lastPlain) out.write(`${lastPlain ? '\n' : ''}${frame}\n`);
          lastPlain = frame;
        }
      } catch (error) {
        finish(error);
      }
    };
    const refresh = async (): Promise<void> => {
      if (fetching) {
        again = true;
        return;
      }
      fetching = true;
      lastFetch = Date.now();
      try {
        snapshot = await client.call('snapshot', {});
        draw();
      } catch (error) {
        finish(error);
      } finally {
        fetching = false;
        if (again) {
          again = false;
          soon();
        }
      }
    };
    const soon = (): void => {
      if (pending || finished) return;
      pending = setTimeout(
        () => {
          pending = null;
          void refresh();
        },
        Math.max(0, lastFetch + MIN_REFRESH_MS - Date.now()),
      );
    };
    const tick = setInterval(() => {
      if (snapshot && (snapshot.running.length > 0 || Date.now() - lastFetch >= IDLE_REFRESH_MS)) void refresh();
    }, options.intervalMs);

    function finish(error?: unknown): void {
      if (finished) return;
      finished = true;
      clearInterval(tick);
      if (pending) clearTimeout(pending);
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, onSignal);
      out.off('resize', draw);
      if (keys) {
        stdin.off('data', onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
      screen?.restore();
      process.off('exit', onExit);
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error(String(error)));
    }

    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
    // The last resort: whatever ends the process, the person gets their terminal back.
    process.on('exit', onExit);
    screen?.enter();
    out.on('resize', draw);
    if (keys) {
      stdin.setRawMode(true);
      stdin.on('data', onKey);
      stdin.resume();
    }
    void client
      .closed()
      .then(() => finish(new CliError('daemonUnreachable', 'the daemon closed the connection (did it stop?)')));
    client
      .watch(() => soon())
      .then(
        () => refresh(),
        (error: unknown) => finish(error),
      );
  });
}
