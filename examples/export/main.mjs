// Started by the person: `node main.mjs [name] [chunks]` exports a generated file of `chunks` MiB to
// data/NAME.bin as a continued processing task. Launched in the background, it only registers.
import { mkdir, open } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { BGTaskScheduler } from 'bgtasks';
import { startExport } from './app.mjs';

const [name = `export-${Date.now()}`, chunks = '20'] = process.argv.slice(2);
const DATA = new URL('./data/', import.meta.url);

async function writeChunk(index, signal) {
  await mkdir(DATA, { recursive: true });
  const file = await open(new URL(`${name}.bin`, DATA), index === 0 ? 'w' : 'a');
  try {
    // A mebibyte of generated data, and a pause that stands in for the work of encoding it.
    await file.write(Buffer.alloc(1024 * 1024, index % 256));
    await delay(250, undefined, { signal }).catch(() => {});
  } finally {
    await file.close();
  }
}

await startExport(BGTaskScheduler.shared, {
  name: BGTaskScheduler.shared.launchReason === 'user' ? name : undefined,
  chunks: Number(chunks),
  writeChunk,
  log: console.log,
});
