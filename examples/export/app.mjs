// The export's background behaviour, apart from where the bytes go: main.mjs wires it to the real
// scheduler and the file system; export.test.mjs to the testing kit.
import { BGContinuedProcessingTaskRequest } from 'bgtasks';

export const FAMILY = 'com.example.export';

/**
 * Exports `chunks` chunks with `writeChunk(index, signal)`, reporting progress; stops between chunks
 * when the task expires (the person cancelled it, or it stalled). Returns how many chunks were written.
 */
export async function exportChunks({ chunks, writeChunk, progress, signal, onChunk = () => {} }) {
  progress.totalUnitCount = chunks;
  for (let index = 0; index < chunks; index++) {
    if (signal.aborted) return index;
    await writeChunk(index, signal);
    progress.completedUnitCount = index + 1;
    onChunk(index + 1);
  }
  return chunks;
}

/**
 * Registers the export handler and, when the person asked for an export (`name`), submits it with
 * strategy `fail`: the system starts it now (in the background if the person leaves) or refuses with
 * `immediateRunIneligible`; then the app does the work in the foreground, with a warning. That is the
 * forum's question: `fail` is "now or tell me", `queue` is "when you can".
 *
 * @param {import('bgtasks').BGTaskScheduler} scheduler
 * @param {{ name?: string, chunks: number, writeChunk: (index: number, signal: AbortSignal) => Promise<void>, log?:
 * (line: string) => void }} options
 */
export function startExport(scheduler, { name, chunks, writeChunk, log = () => {} }) {
  scheduler.register(`${FAMILY}.*`, async (task) => {
    const file = `${task.identifier.slice(FAMILY.length + 1)}.bin`;
    const onChunk = (done) => task.updateTitle('Exporting', `${file} (${done} of ${chunks} MiB)`);
    const written = await exportChunks({ chunks, writeChunk, progress: task.progress, signal: task.signal, onChunk });
    log(
      written === chunks
        ? `export ${task.identifier} done`
        : `export ${task.identifier} stopped after ${written} of ${chunks} chunks`,
    );
    if (written !== chunks) throw new Error(`stopped after ${written} of ${chunks} chunks`);
  });
  if (scheduler.launchReason !== 'user' || !name) return Promise.resolve('none');
  const request = new BGContinuedProcessingTaskRequest(`${FAMILY}.${name}`, 'Exporting', `${name}.bin`);
  request.strategy = 'fail';
  return scheduler.submit(request).then(
    () => {
      log(`export ${name} started as a continued task: watch it with \`bgtasks top\` or \`bgtasks dashboard\``);
      return 'continued';
    },
    async (error) => {
      if (error.code !== 'immediateRunIneligible') throw error;
      log(`warning: the system cannot start the export now (${error.message}); exporting in the foreground instead`);
      const controller = new AbortController();
      await exportChunks({
        chunks,
        writeChunk,
        progress: { totalUnitCount: 0, completedUnitCount: 0 },
        signal: controller.signal,
      });
      log(`export ${name} done in the foreground`);
      return 'foreground';
    },
  );
}
