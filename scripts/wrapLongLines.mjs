// Breaks what Prettier cannot: long string literals and template literals (split at spaces into pieces
// joined with `+`, which Prettier then lays out) and long comments (rewrapped; a trailing comment moves
// above its line), so that formatted code stays within 120 columns. Run once after a merge, then
// `npm run format`:  node scripts/wrapLongLines.mjs $(git ls-files 'src/*.ts' 'test/*.ts' ...)
// It leaves alone: migrations (released text never changes), imports, `case` labels, multi-line templates
// (SQL, pages) and tagged templates. Values are unchanged: 'a b' is 'a ' + 'b'.
import { readFileSync, writeFileSync } from 'node:fs';
import ts from 'typescript';

const MAX = 120;
const CHUNK = 76;
const { SyntaxKind } = ts;

/** Prose split at spaces into pieces of at most `limit` characters (each keeps its trailing space). */
function splitText(text, limit) {
  const pieces = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf(' ', limit);
    if (cut < limit * 0.4) cut = rest.indexOf(' ', limit);
    if (cut <= 0) break;
    pieces.push(rest.slice(0, cut + 1));
    rest = rest.slice(cut + 1);
  }
  pieces.push(rest);
  return pieces.filter((piece) => piece.length > 0);
}

/** A template's body split at spaces outside `${...}`, or null when its braces do not balance. */
function splitTemplate(body) {
  const pieces = [];
  let depth = 0;
  let current = '';
  let lastSpace = -1;
  const spaceAfter = (text) => {
    let inner = 0;
    let found = -1;
    for (let j = 0; j < text.length; j++) {
      if (text[j] === '$' && text[j + 1] === '{') {
        inner++;
        j++;
        continue;
      }
      if (text[j] === '{' && inner > 0) inner++;
      if (text[j] === '}' && inner > 0) inner--;
      if (text[j] === ' ' && inner === 0) found = j + 1;
    }
    return found;
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      current += c + body[i + 1];
      i++;
      continue;
    }
    if (c === '$' && body[i + 1] === '{') {
      depth++;
      current += '${';
      i++;
      continue;
    }
    if (c === '{' && depth > 0) depth++;
    if (c === '}' && depth > 0) depth--;
    current += c;
    if (c === ' ' && depth === 0) lastSpace = current.length;
    if (current.length >= CHUNK && lastSpace > CHUNK * 0.4) {
      pieces.push(current.slice(0, lastSpace));
      current = current.slice(lastSpace);
      lastSpace = spaceAfter(current);
    }
  }
  if (depth !== 0) return null;
  pieces.push(current);
  return pieces.filter((piece) => piece.length > 0);
}

const ENDS_EXPRESSION = new Set([
  SyntaxKind.Identifier,
  SyntaxKind.CloseParenToken,
  SyntaxKind.CloseBracketToken,
  SyntaxKind.NumericLiteral,
  SyntaxKind.StringLiteral,
  SyntaxKind.CloseBraceToken,
  SyntaxKind.ThisKeyword,
]);
const TRIVIA = new Set([
  SyntaxKind.WhitespaceTrivia,
  SyntaxKind.NewLineTrivia,
  SyntaxKind.SingleLineCommentTrivia,
  SyntaxKind.MultiLineCommentTrivia,
]);

/** The edits that split long literals on long lines: [start, end, replacement]. */
function literalEdits(text) {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
  const lineOf = (pos) => {
    const start = text.lastIndexOf('\n', pos - 1) + 1;
    const end = text.indexOf('\n', pos);
    return text.slice(start, end === -1 ? text.length : end);
  };
  const edits = [];
  const templates = []; // open templates: their start, and the braces open in the current substitution
  let prev = SyntaxKind.Unknown;
  for (let token = scanner.scan(); token !== SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    const start = scanner.getTokenStart();
    if ((token === SyntaxKind.SlashToken || token === SyntaxKind.SlashEqualsToken) && !ENDS_EXPRESSION.has(prev)) {
      token = scanner.reScanSlashToken();
    }
    const open = templates.at(-1);
    if (token === SyntaxKind.OpenBraceToken && open) open.braces++;
    if (token === SyntaxKind.CloseBraceToken && open) {
      if (open.braces === 0) token = scanner.reScanTemplateToken(false);
      else open.braces--;
    }
    const end = scanner.getTextPos();
    const next = () => text.slice(end).match(/^\s*(\S)/)?.[1];
    const wrap = (joined) => (next() === '.' || next() === '[' ? `(${joined})` : joined);
    const line = lineOf(start);
    if (token === SyntaxKind.StringLiteral && line.length > MAX && end - start > 70) {
      const quote = text[start];
      const pieces = splitText(text.slice(start + 1, end - 1), CHUNK);
      const safe = !/^\s*(import|export .* from)/.test(line) && prev !== SyntaxKind.CaseKeyword;
      if (safe && pieces.length > 1 && pieces.every((piece) => !/\\$/.test(piece))) {
        edits.push([start, end, wrap(pieces.map((piece) => quote + piece + quote).join(' + '))]);
      }
    }
    if (token === SyntaxKind.TemplateHead) {
      templates.push({ start, braces: 0, tagged: ENDS_EXPRESSION.has(prev), long: line.length > MAX });
    }
    const whole =
      token === SyntaxKind.NoSubstitutionTemplateLiteral
        ? { start, tagged: ENDS_EXPRESSION.has(prev), long: line.length > MAX }
        : token === SyntaxKind.TemplateTail
          ? templates.pop()
          : null;
    if (whole && !whole.tagged && whole.long && end - whole.start > 70) {
      const raw = text.slice(whole.start, end);
      const pieces = raw.includes('\n') ? null : splitTemplate(raw.slice(1, -1));
      if (pieces && pieces.length > 1) edits.push([whole.start, end, wrap(pieces.map((p) => `\`${p}\``).join(' + '))]);
    }
    if (!TRIVIA.has(token)) prev = token;
  }
  return edits;
}

function applyEdits(text, edits) {
  let out = text;
  let lastStart = Infinity;
  for (const [start, end, replacement] of edits.sort((a, b) => b[0] - a[0])) {
    if (end > lastStart) continue; // nested in one already split
    out = out.slice(0, start) + replacement + out.slice(end);
    lastStart = start;
  }
  return out;
}

/** Rewraps comment lines over MAX: `//` lines, JSDoc lines, one-line JSDoc blocks, and trailing `//` comments. */
function wrapComments(text) {
  const out = [];
  const inTemplate = templateRanges(text);
  let pos = 0;
  for (const line of text.split('\n')) {
    let match;
    const start = pos;
    pos += line.length + 1;
    // A line that begins inside a template literal is its text (a script, a page, SQL), never a comment.
    if (line.length <= MAX || inTemplate.some(([from, to]) => from < start && start < to)) out.push(line);
    else if ((match = /^(\s*)\/\/\s?(.*)$/.exec(line))) {
      for (const piece of splitText(match[2], MAX - match[1].length - 3)) out.push(`${match[1]}// ${piece.trimEnd()}`);
    } else if ((match = /^(\s*)\* ?(.*)$/.exec(line))) {
      for (const piece of splitText(match[2], MAX - match[1].length - 2)) out.push(`${match[1]}* ${piece.trimEnd()}`);
    } else if ((match = /^(\s*)\/\*\* (.*) \*\/$/.exec(line))) {
      out.push(`${match[1]}/**`);
      for (const piece of splitText(match[2], MAX - match[1].length - 3)) out.push(`${match[1]} * ${piece.trimEnd()}`);
      out.push(`${match[1]} */`);
    } else if ((match = /^(\s*)(\S.*?[;,{)]) \/\/ (.*)$/.exec(line)) && !/['"`].*\/\/.*['"`]/.test(line)) {
      for (const piece of splitText(match[3], MAX - match[1].length - 3)) out.push(`${match[1]}// ${piece.trimEnd()}`);
      out.push(`${match[1]}${match[2]}`);
    } else out.push(line);
  }
  return out.join('\n');
}

/** Where the template literals are: [start, end] offsets. */
function templateRanges(text) {
  const file = ts.createSourceFile('file.ts', text, ts.ScriptTarget.Latest, true);
  const ranges = [];
  const visit = (node) => {
    if (ts.isTemplateExpression(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      ranges.push([node.getStart(), node.getEnd()]);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return ranges;
}

for (const path of process.argv.slice(2)) {
  if (/\/migrations\//.test(path)) continue;
  const before = readFileSync(path, 'utf8');
  const after = wrapComments(applyEdits(before, literalEdits(before)));
  if (after !== before) writeFileSync(path, after);
}
