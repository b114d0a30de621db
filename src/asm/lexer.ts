import { AsmError } from './errors.js';

export type Token =
  | { kind: 'ident'; text: string; column: number }
  | { kind: 'reg'; text: string; column: number; num: number; wide: boolean }
  | { kind: 'number'; text: string; column: number; value: bigint }
  | { kind: 'punct'; text: string; column: number }
  | { kind: 'end'; text: ''; column: number };

// Longest first, so that "<<=" wins over "<" and "s>=" over "s>".
const PUNCTUATION = [
  's>>=',
  '<<=',
  '>>=',
  's>=',
  's<=',
  's/=',
  's%=',
  's>',
  's<',
  '==',
  '!=',
  '>=',
  '<=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '|=',
  '&=',
  '^=',
  '<',
  '>',
  '&',
  '=',
  '(',
  ')',
  '*',
  '+',
  '-',
  ',',
  '[',
  ']',
  ':',
];

const IDENT_START = /[A-Za-z_.$]/;
const IDENT_PART = /[\w.$]/;
const REGISTER = /^([rw])(10|[0-9])$/;

/** Text of a line with its comment (`;`, `#` or `//` to end of line) removed. */
export function stripComment(line: string): string {
  let cut = line.length;
  for (const marker of [';', '#', '//']) {
    const at = line.indexOf(marker);
    if (at >= 0 && at < cut) cut = at;
  }
  return line.slice(0, cut);
}

/**
 * The token at `index` of a line from tokenize(), or the line's end token for any index past it:
 * a parser that looks ahead never runs off the line.
 */
export function tokenAt(tokens: readonly Token[], index: number): Token {
  const tok = tokens[Math.min(index, tokens.length - 1)];
  if (tok === undefined) throw new AsmError('internal: a token line without its end token');
  return tok;
}

/** Splits one line (comment already removed) into tokens; columns are 1-based; the last token is always the end token. */
export function tokenize(text: string, line: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    const column = i + 1;
    const punct = PUNCTUATION.find((p) => text.startsWith(p, i));
    if (/[0-9]/.test(ch)) {
      let j = i;
      while (j < text.length && IDENT_PART.test(text.charAt(j))) j++;
      const word = text.slice(i, j);
      if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(word)) {
        throw new AsmError(`malformed number '${word}'; write decimal (42) or hex (0x2a)`, { line, column });
      }
      tokens.push({ kind: 'number', text: word, column, value: BigInt(word) });
      i = j;
    } else if (punct !== undefined && !(ch === 's' && !punct.startsWith('s'))) {
      tokens.push({ kind: 'punct', text: punct, column });
      i += punct.length;
    } else if (IDENT_START.test(ch)) {
      let j = i + 1;
      while (j < text.length && IDENT_PART.test(text.charAt(j))) j++;
      const word = text.slice(i, j);
      const reg = REGISTER.exec(word);
      if (reg) tokens.push({ kind: 'reg', text: word, column, num: Number(reg[2]), wide: reg[1] === 'r' });
      else tokens.push({ kind: 'ident', text: word, column });
      i = j;
    } else {
      throw new AsmError(`unexpected character '${ch}'`, { line, column });
    }
  }
  tokens.push({ kind: 'end', text: '', column: text.length + 1 });
  return tokens;
}
