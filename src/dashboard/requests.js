// The queue (continued tasks a person started, in line for a free slot) and the other pending requests
// with what holds each one: the reason codes as words, and the daemon's sentence.
import { api } from './api.js';
import { h, reconcile, setAttr, setText, toast } from './dom.js';
import { KIND_LABELS, reasonLabel, relative, when, withPageTimes } from './format.js';
import { avatar } from './running.js';

const refs = new WeakMap();
const keyOf = (request) => `${request.appId}\u0000${request.identifier}`;

export function renderQueue(section, snapshot) {
  const queued = snapshot.pending
    .filter((request) => request.queuePosition !== null)
    .sort((a, b) => a.queuePosition - b.queuePosition);
  reconcile(section.querySelector('.request-list'), queued, keyOf, createQueued, updateQueued);
  setText(section.querySelector('.count'), queued.length ? String(queued.length) : '');
  section.classList.toggle('is-empty', queued.length === 0);
}

export function renderPending(section, snapshot) {
  const pending = snapshot.pending
    .filter((request) => request.queuePosition === null)
    // Ready first, then the soonest due.
    .sort(
      (a, b) =>
        Number(b.eligible) - Number(a.eligible) ||
        (a.earliestBeginAt ?? 0) - (b.earliestBeginAt ?? 0) ||
        a.identifier.localeCompare(b.identifier),
    );
  reconcile(section.querySelector('.request-list'), pending, keyOf, createPending, (node, request) =>
    updatePending(node, request, snapshot.at),
  );
  setText(section.querySelector('.count'), pending.length ? String(pending.length) : '');
  section.classList.toggle('is-empty', pending.length === 0);
}

function createQueued(request) {
  const position = h('span', { class: 'position', 'aria-hidden': 'true' });
  const title = h('span', { class: 'request-title' });
  const detail = h('span', { class: 'request-detail' });
  const cancel = h('button', { type: 'button', class: 'button button-cancel' }, 'Remove');
  const node = h(
    'li',
    { class: 'request queued' },
    position,
    avatar(request.appId),
    h('div', { class: 'request-body' }, title, detail),
    cancel,
  );
  cancel.addEventListener('click', () => removeQueued(request, cancel));
  refs.set(node, { position, title, detail, cancel });
  return node;
}

/** Takes a request out of the line; the app hears of it when it next starts. */
async function removeQueued(request, button) {
  button.disabled = true;
  setText(button, 'Removing…');
  try {
    await api.cancelQueued(request.appId, request.identifier);
  } catch (error) {
    button.disabled = false;
    setText(button, 'Remove');
    toast(`Could not remove it from the line: ${error.message}`);
  }
}

function updateQueued(node, request) {
  const r = refs.get(node);
  const name = request.title || request.identifier;
  setText(r.position, `#${request.queuePosition}`);
  setText(r.title, name);
  setText(r.detail, [request.subtitle, request.appId].filter(Boolean).join(' · '));
  setAttr(node, 'aria-label', `Number ${request.queuePosition} in line: ${name}, ${request.appId}`);
  setAttr(r.cancel, 'aria-label', `Remove ${name} from the line`);
}

function createPending(request) {
  const title = h('span', { class: 'request-title' });
  const kind = h('span', { class: 'badge' });
  const detail = h('span', { class: 'request-detail' });
  const reasons = h('ul', { class: 'reasons', 'aria-label': 'What it waits for' });
  const message = h('p', { class: 'why' });
  const node = h(
    'li',
    { class: 'request' },
    avatar(request.appId),
    h('div', { class: 'request-body' }, h('div', { class: 'request-line' }, title, kind), detail, reasons, message),
  );
  refs.set(node, { title, kind, detail, reasons, message });
  return node;
}

function updatePending(node, request, now) {
  const r = refs.get(node);
  setText(r.title, request.title || request.identifier);
  setText(r.kind, KIND_LABELS[request.kind] ?? request.kind);
  setAttr(r.kind, 'data-kind', request.kind);
  const due =
    request.earliestBeginAt && request.earliestBeginAt > now
      ? `not before ${when(request.earliestBeginAt, now)} ` + `(${relative(request.earliestBeginAt, now)})`
      : null;
  setText(
    r.detail,
    [
      request.title ? request.identifier : null,
      request.appId,
      `submitted ${relative(request.submittedAt, now)}`,
      due,
      request.schedule,
    ]
      .filter(Boolean)
      .join(' · '),
  );
  node.classList.toggle('is-ready', request.eligible);
  const codes = request.eligible ? ['ready'] : request.reasons;
  reconcile(
    r.reasons,
    codes,
    (code) => code,
    () => h('li', { class: 'reason' }),
    (chip, code) => {
      setText(chip, code === 'ready' ? 'Ready to run' : reasonLabel(code));
      setAttr(chip, 'title', code === 'ready' ? null : code);
      chip.classList.toggle('reason-ready', code === 'ready');
    },
  );
  setText(
    r.message,
    request.eligible ? 'Starts at the next scheduling pass.' : withPageTimes(request.message ?? '', now),
  );
}
