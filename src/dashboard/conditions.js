// The device's conditions as chips. Each says its state in words (colour only repeats it), and marks
// values set by `bgtasks conditions set` rather than read from the sensors.
import { h, reconcile, setAttr, setText } from './dom.js';

const LEVEL_TONE = { nominal: 'ok', fair: 'ok', serious: 'warn', critical: 'bad', unknown: 'muted' };
const LEVEL_WORD = { nominal: 'Normal', fair: 'Fair', serious: 'Serious', critical: 'Critical', unknown: 'Unknown' };

function chips(c) {
  const battery = c.batteryLevel === null ? '' : ` · ${Math.round(c.batteryLevel)}%`;
  const batteryTone =
    c.batteryLevel !== null && c.batteryLevel <= 10
      ? 'bad'
      : c.batteryLevel !== null && c.batteryLevel < 20
        ? 'warn'
        : 'ok';
  return [
    {
      key: 'power',
      origin: ['power', 'batteryLevel'],
      label: 'Power',
      value:
        c.power === 'ac' ? `On power${battery}` : c.power === 'battery' ? `Battery${battery}` : 'Unknown (as on power)',
      tone: c.power === 'battery' ? batteryTone : c.power === 'ac' ? 'ok' : 'muted',
    },
    {
      key: 'network',
      origin: ['network', 'networkCost'],
      label: 'Network',
      value:
        c.network === 'offline'
          ? 'Offline'
          : `${c.network === 'online' ? 'Online' : 'Unknown'}${c.networkCost === 'metered' ? ' · metered' : ''}`,
      tone:
        c.network === 'offline'
          ? 'bad'
          : c.networkCost === 'metered'
            ? 'warn'
            : c.network === 'online'
              ? 'ok'
              : 'muted',
    },
    {
      key: 'lowPowerMode',
      origin: ['lowPowerMode'],
      label: 'Low Power Mode',
      value: c.lowPowerMode ? 'On' : 'Off',
      tone: c.lowPowerMode ? 'warn' : 'ok',
    },
    {
      key: 'userActivity',
      origin: ['userActivity'],
      label: 'User',
      value:
        { active: 'Active', idle: 'Idle', noSeat: 'No one at the machine', unknown: 'Unknown' }[c.userActivity] ??
        c.userActivity,
      tone: c.userActivity === 'active' ? 'info' : 'ok',
    },
    {
      key: 'thermalState',
      origin: ['thermalState'],
      label: 'Thermal',
      value: LEVEL_WORD[c.thermalState],
      tone: LEVEL_TONE[c.thermalState],
    },
    {
      key: 'cpuPressure',
      origin: ['cpuPressure'],
      label: 'CPU',
      value: LEVEL_WORD[c.cpuPressure],
      tone: LEVEL_TONE[c.cpuPressure],
    },
    {
      key: 'memoryPressure',
      origin: ['memoryPressure'],
      label: 'Memory',
      value: LEVEL_WORD[c.memoryPressure],
      tone: LEVEL_TONE[c.memoryPressure],
    },
    {
      key: 'ioPressure',
      origin: ['ioPressure'],
      label: 'Disk I/O',
      value: LEVEL_WORD[c.ioPressure],
      tone: LEVEL_TONE[c.ioPressure],
    },
  ];
}

export function renderConditions(section, snapshot) {
  const { conditions, origins } = snapshot.conditions;
  const items = chips(conditions).map((chip) => ({
    ...chip,
    overridden: chip.origin.some((name) => origins[name] === 'override'),
  }));
  reconcile(section.querySelector('.chips'), items, (chip) => chip.key, createChip, updateChip);
}

function createChip() {
  return h(
    'li',
    { class: 'chip' },
    h('span', { class: 'chip-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'chip-label' }),
    h('span', { class: 'chip-value' }),
    h('span', { class: 'chip-tag', hidden: true }, 'override'),
  );
}

function updateChip(node, chip) {
  setText(node.querySelector('.chip-label'), chip.label);
  setText(node.querySelector('.chip-value'), chip.value);
  node.dataset.tone = chip.tone;
  node.querySelector('.chip-tag').hidden = !chip.overridden;
  setAttr(
    node,
    'title',
    chip.overridden
      ? 'Set with `bgtasks conditions set`; `bgtasks conditions reset` returns to the ' + 'sensors'
      : 'Read from the sensors',
  );
}
