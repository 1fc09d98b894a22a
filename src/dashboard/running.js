// Running tasks: one card each, with the title and subtitle the app gave, a progress bar, elapsed and
// estimated time, and Cancel. Cards are kept across refreshes so the bar glides instead of jumping.
import { api } from './api.js';
import { h, reconcile, setAttr, setText, toast } from './dom.js';
import { KIND_LABELS, appHue, clockSeconds, duration, remaining, shortName } from './format.js';

const refs = new WeakMap();

export function renderRunning(section, snapshot) {
  const list = section.querySelector('.task-list');
  const tasks = [...snapshot.running].sort((a, b) => (a.startedAt ?? Infinity) - (b.startedAt ?? Infinity));
  reconcile(list, tasks, (task) => task.taskId, createCard, updateCard);
  setText(section.querySelector('.count'), tasks.length ? String(tasks.length) : '');
  section.classList.toggle('is-empty', tasks.length === 0);
}

export function avatar(appId) {
  const node = h('span', { class: 'avatar', 'aria-hidden': 'true' }, shortName(appId).charAt(0));
  node.style.setProperty('--hue', String(appHue(appId)));
  return node;
}

function createCard(task) {
  const title = h('h3', { class: 'task-title' });
  const subtitle = h('p', { class: 'task-subtitle' });
  const kind = h('span', { class: 'badge' });
  const cancel = h('button', { type: 'button', class: 'button button-cancel' }, 'Cancel');
  const fill = h('div', { class: 'bar-fill' });
  const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' }, fill);
  const percent = h('span', { class: 'percent' });
  const units = h('span', { class: 'units' });
  const elapsed = h('span', { class: 'elapsed' });
  const left = h('span', { class: 'left' });
  const card = h(
    'article',
    { class: 'task', 'data-task-id': task.taskId },
    h(
      'div',
      { class: 'task-head' },
      avatar(task.appId),
      h('div', { class: 'task-titles' }, h('div', { class: 'task-title-line' }, title, kind), subtitle),
      cancel,
    ),
    bar,
    h('div', { class: 'task-meta' }, percent, units, elapsed, left),
  );
  cancel.addEventListener('click', () => cancelTask(card, cancel));
  refs.set(card, { title, subtitle, kind, cancel, bar, fill, percent, units, elapsed, left });
  return card;
}

function updateCard(card, task) {
  const r = refs.get(card);
  const name = task.title || task.identifier;
  card.dataset.taskId = task.taskId;
  setAttr(card, 'aria-label', `${name}, ${task.appId}`);
  setText(r.title, name);
  setText(r.subtitle, [task.subtitle, task.appId, launchWords(task)].filter(Boolean).join(' · '));
  setText(r.kind, KIND_LABELS[task.kind] ?? task.kind);
  setAttr(r.kind, 'data-kind', task.kind);
  const stopping = task.state === 'expired';
  card.classList.toggle('is-stopping', stopping);
  if (stopping || card.dataset.cancelling === 'true') {
    r.cancel.disabled = true;
    setText(r.cancel, stopping ? 'Stopping…' : 'Cancelling…');
  }
  setAttr(r.cancel, 'aria-label', `Cancel ${name}`);
  const progress = task.progress;
  setAttr(r.bar, 'aria-label', `Progress of ${name}`);
  if (progress) {
    const value = Math.round(progress.fraction * 100);
    r.bar.classList.remove('indeterminate');
    setAttr(r.bar, 'aria-valuenow', value);
    setAttr(r.bar, 'aria-valuetext', `${value} percent, ${progress.completed} of ${progress.total}`);
    r.fill.style.transform = `scaleX(${progress.fraction})`;
    setText(r.percent, `${value}%`);
    setText(r.units, `${progress.completed} of ${progress.total}`);
  } else {
    // No progress reported (refresh and processing tasks, or a continued task that has not said yet).
    r.bar.classList.add('indeterminate');
    setAttr(r.bar, 'aria-valuenow', null);
    setAttr(r.bar, 'aria-valuetext', stopping ? 'stopping' : 'working');
    r.fill.style.transform = '';
    setText(r.percent, stopping ? 'Stopping' : 'Working');
    setText(r.units, '');
  }
  setText(r.elapsed, `${duration(task.elapsedMs)} elapsed`);
  setText(
    r.left,
    stopping
      ? 'asked to stop'
      : (remaining(task.estimatedRemainingMs) ?? (progress ? 'estimating…' : deadlineWords(task))),
  );
}

function launchWords(task) {
  if (task.launch === 'launched') return 'launched in the background';
  if (task.background === false) return 'in the open app';
  return null;
}

function deadlineWords(task) {
  return task.deadlineAt ? `time limit ${clockSeconds(task.deadlineAt)}` : 'no time limit';
}

async function cancelTask(card, button) {
  card.dataset.cancelling = 'true';
  button.disabled = true;
  setText(button, 'Cancelling…');
  try {
    await api.cancelTask(card.dataset.taskId);
  } catch (error) {
    delete card.dataset.cancelling;
    button.disabled = false;
    setText(button, 'Cancel');
    toast(`Could not cancel: ${error.message}`);
  }
}
