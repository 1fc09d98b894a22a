// Notifications apps posted, newest first, with their actions as buttons (choosing one hands it to the
// app, which is launched for it if it is not running), and the apps asking to post, with Allow and
// Don't Allow (as iOS asks once per app).
import { api } from './api.js';
import { h, reconcile, setText, toast } from './dom.js';
import { clock } from './format.js';
import { avatar } from './running.js';

const refs = new WeakMap();

export function renderNotifications(section, snapshot, refresh) {
  reconcile(
    section.querySelector('.ask-list'),
    snapshot.notificationRequests,
    (appId) => appId,
    (appId) => createAsk(appId, refresh),
    () => undefined,
  );
  reconcile(
    section.querySelector('.notification-list'),
    snapshot.notifications,
    (n) => n.notificationId,
    (n) => createNotification(n, refresh),
    updateNotification,
  );
  const unanswered = snapshot.notifications.filter((n) => n.state === 'posted').length;
  setText(section.querySelector('.count'), unanswered ? String(unanswered) : '');
  section.classList.toggle(
    'is-empty',
    snapshot.notifications.length === 0 && snapshot.notificationRequests.length === 0,
  );
}

function createAsk(appId, refresh) {
  const allow = h('button', { type: 'button', class: 'button button-primary' }, 'Allow');
  const deny = h('button', { type: 'button', class: 'button' }, 'Don’t Allow');
  const answer = (allowed) => async () => {
    allow.disabled = deny.disabled = true;
    try {
      await api.setNotifications(appId, allowed);
    } catch (error) {
      toast(`Could not answer ${appId}: ${error.message}`);
      allow.disabled = deny.disabled = false;
    }
    refresh();
  };
  allow.addEventListener('click', answer(true));
  deny.addEventListener('click', answer(false));
  return h(
    'li',
    { class: 'request ask' },
    avatar(appId),
    h(
      'div',
      { class: 'request-body' },
      h('span', { class: 'request-title' }, `“${appId}” would like to send you notifications`),
      h(
        'span',
        { class: 'request-detail' },
        'They may include alerts with buttons. You can change this later with bgtasks ' + 'notifications.',
      ),
    ),
    h('div', { class: 'actions' }, deny, allow),
  );
}

function createNotification(notification, refresh) {
  const title = h('span', { class: 'request-title' });
  const when = h('span', { class: 'muted when' });
  const body = h('span', { class: 'request-detail' });
  const answered = h('span', { class: 'reason reason-ready answered' });
  const buttons = notification.actions.map((action) => {
    const button = h('button', { type: 'button', class: 'button', 'data-action': action.id }, action.title);
    button.addEventListener('click', () => choose(notification, action, buttons, refresh));
    return button;
  });
  const actions = h('div', { class: 'actions' }, ...buttons);
  const node = h(
    'li',
    { class: 'request notification', 'data-id': notification.notificationId },
    avatar(notification.appId),
    h('div', { class: 'request-body' }, h('div', { class: 'request-line' }, title, when), body, answered),
    actions,
  );
  refs.set(node, { title, when, body, answered, actions, buttons });
  return node;
}

function updateNotification(node, notification) {
  const r = refs.get(node);
  setText(r.title, notification.title);
  setText(r.when, `${notification.appId} · ${clock(notification.postedAt)}`);
  setText(r.body, notification.body);
  const chosen = notification.actions.find((action) => action.id === notification.actionId);
  const done = notification.state !== 'posted';
  setText(
    r.answered,
    notification.state === 'actioned'
      ? `You chose ${chosen ? chosen.title : 'to open it'}`
      : notification.state === 'dismissed'
        ? 'Dismissed'
        : '',
  );
  r.answered.hidden = !done;
  r.actions.hidden = done || r.buttons.length === 0;
  node.classList.toggle('is-answered', done);
}

async function choose(notification, action, buttons, refresh) {
  for (const button of buttons) button.disabled = true;
  try {
    await api.chooseAction(notification.notificationId, action.id);
  } catch (error) {
    toast(`Could not send “${action.title}” to ${notification.appId}: ${error.message}`);
    for (const button of buttons) button.disabled = false;
  }
  refresh();
}
