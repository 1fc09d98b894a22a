/* global document, window */
// Small DOM helpers. Everything an app or the daemon says is put in as text (textContent), never as
// markup: titles and subtitles come from apps.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** h('div', { class: 'x', 'aria-label': 'y', onclick: fn }, child, 'text') */
export function h(tag, props = {}, ...children) {
  return fill(document.createElement(tag), props, children);
}

export function s(tag, props = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), props, children);
}

function fill(node, props, children) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = String(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** Sets text only when it changed, so screen readers and selection are not disturbed every second. */
export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

export function setAttr(node, name, value) {
  if (value === null || value === undefined || value === false) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else {
    const text = value === true ? '' : String(value);
    if (node.getAttribute(name) !== text) node.setAttribute(name, text);
  }
}

/**
 * Keyed list update: nodes are kept for items that stay (so focus, hover and CSS transitions survive a
 * refresh), made for new ones, removed for gone ones, and put in the items' order.
 */
export function reconcile(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of container.children) existing.set(child.dataset.key, child);
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (node) existing.delete(key);
    else {
      node = create(item);
      node.dataset.key = key;
    }
    update(node, item);
    const expected = previous ? previous.nextElementSibling : container.firstElementChild;
    if (node !== expected) container.insertBefore(node, expected);
    previous = node;
  }
  for (const node of existing.values()) node.remove();
}

/** A message that goes away by itself; assertive, for failures the person should hear about. */
export function toast(message, kind = 'error') {
  const region = document.getElementById('toasts');
  const node = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  region.append(node);
  window.setTimeout(() => {
    node.classList.add('leaving');
    window.setTimeout(() => node.remove(), 300);
  }, 5000);
}

/** An iOS-like switch: a button with role="switch", so it is one key press for keyboards and readers. */
export function switchButton(label, onToggle) {
  const button = h(
    'button',
    { type: 'button', class: 'switch', role: 'switch', 'aria-checked': 'false', 'aria-label': label },
    h('span', { class: 'knob', 'aria-hidden': 'true' }),
  );
  button.addEventListener('click', () => onToggle(button.getAttribute('aria-checked') !== 'true', button));
  return button;
}
