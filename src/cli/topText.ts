/**
 * Text for `bgtasks top`: styled pieces of a line, cut to the terminal's width by what the terminal
 * shows (not by string length), painted with ANSI colours only when asked.
 */
export type Style = 'bold' | 'dim' | 'green' | 'yellow' | 'red' | 'cyan';

/** A piece of a line with one style. */
export interface Piece {
  readonly text: string;
  readonly style?: Style | undefined;
}
export type Line = readonly Piece[];

const SGR: Record<Style, string> = { bold: '1', dim: '2', green: '32', yellow: '33', red: '31', cyan: '36' };

export const piece = (text: string, style?: Style): Piece => ({ text, style });

/**
 * Apps choose titles and subtitles: control characters (an escape sequence in a title could move the
 * cursor or change the terminal's title) become spaces, and runs of whitespace one space.
 */
export function clean(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(CONTROL_CHARACTERS, ' ').replace(/\s+/g, ' ').trim();
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** Columns a code point takes: 0 for combining marks, 2 for East Asian wide and emoji, else 1. */
function columns(codePoint: number): number {
  if (
    (codePoint >= 0x300 && codePoint <= 0x36f) ||
    (codePoint >= 0x200b && codePoint <= 0x200f) ||
    (codePoint >= 0xfe00 && codePoint <= 0xfe0f)
  )
    return 0;
  if (
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0xa4cf) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    (codePoint >= 0x1f300 && codePoint <= 0x1faff) ||
    (codePoint >= 0x20000 && codePoint <= 0x3fffd)
  )
    return 2;
  return 1;
}

export function textWidth(text: string): number {
  let width = 0;
  for (const char of text) width += columns(char.codePointAt(0)!);
  return width;
}

export function lineWidth(line: Line): number {
  return line.reduce((sum, part) => sum + textWidth(part.text), 0);
}

/**
 * Cuts a line to `width` columns, ending a cut line with "…". A line as wide as the terminal would
 * wrap on some terminals and shift everything below it, so nothing is ever wider.
 */
export function fit(line: Line, width: number): Line {
  if (lineWidth(line) <= width) return line;
  const out: Piece[] = [];
  let room = Math.max(0, width - 1);
  for (const part of line) {
    let text = '';
    for (const char of part.text) {
      const needed = columns(char.codePointAt(0)!);
      if (needed > room) break;
      text += char;
      room -= needed;
    }
    if (text) out.push({ text, style: part.style });
    if (text.length < part.text.length) break;
  }
  if (width > 0) out.push({ text: '…' });
  return out;
}

/** The line as terminal text: with SGR colours, or plain. */
export function paint(line: Line, color: boolean): string {
  return line
    .map((part) => (color && part.style && part.text ? `\x1b[${SGR[part.style]}m${part.text}\x1b[0m` : part.text))
    .join('');
}

/** Elapsed or remaining time as the clock shows it: `0:42`, `12:05`, `1:02:03`. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** A local time of day, `HH:MM:SS`. */
export function timeOfDay(ms: number): string {
  const date = new Date(ms);
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':');
}

/** Pads (or cuts with "…") to exactly `width` columns: for aligned columns. */
export function column(text: string, width: number): string {
  const cut = fit([piece(text)], width)
    .map((part) => part.text)
    .join('');
  return cut + ' '.repeat(Math.max(0, width - textWidth(cut)));
}
