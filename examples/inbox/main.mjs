// A mail client. Started by the person (node main.mjs) it asks to post notifications and exits; the
// bgtasks daemon launches it in the background for each push (try
// `npx bgtasks push com.example.inbox --data '{"from":"Ana","subject":"Lunch?"}'`).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { BGTaskScheduler } from 'bgtasks';
import { startInbox } from './app.mjs';

const FILE = new URL('./data/inbox.json', import.meta.url);

async function load() {
  return JSON.parse(await readFile(FILE, 'utf8').catch(() => '{"messages":{},"archived":[]}'));
}

async function save(state) {
  await mkdir(new URL('./data/', import.meta.url), { recursive: true });
  await writeFile(FILE, JSON.stringify(state, null, 2));
}

const mailbox = {
  has: async (id) => id in (await load()).messages,
  add: async (id, message) => {
    const state = await load();
    state.messages[id] = { ...message, at: new Date().toISOString() };
    await save(state);
  },
  archive: async (id) => {
    const state = await load();
    state.archived.push(id);
    await save(state);
  },
};

await startInbox(BGTaskScheduler.shared, { mailbox, log: console.log });
