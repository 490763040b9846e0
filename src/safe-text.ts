// Text from outside (the config's path as typed, a file name) made inert where we print it: in a comment or header
// of a file under out/ (bash, YAML, Markdown) and on the operator's terminal. Pure.
//
// Escaped rather than dropped or replaced by '?', so that a reader still sees which name it was. The escapes are
// JavaScript's (\n, \u0085), which every reader of this tool's output can decode.

/**
 * Every character that some reader of our output takes for a line break or a command, or that hides text:
 * - C0 controls and DEL: \n ends a bash or YAML comment; \r ends a YAML line; ESC starts a terminal sequence;
 *   YAML allows no control character but tab in a stream at all (we escape tab too: it is invisible in a name);
 * - C1 controls U+0080–U+009F: NEL (U+0085) is a line break in YAML 1.1, CSI (U+009B) a terminal sequence;
 * - U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR: line breaks in YAML 1.1 (and in JavaScript);
 * - bidirectional controls (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069): they reorder what a reviewer sees;
 * - U+FEFF (a byte-order mark inside a YAML stream is an error), U+FFFE and U+FFFF (not characters; YAML refuses
 *   them), and a lone surrogate (not text at all).
 */
const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const utf8 = new TextEncoder();

function escaped(character: string): string {
  return named[character] ?? `\\u${(character.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

/** Text that shows on a terminal as what it is: one line, no control sequences, no reordering. */
export function terminalSafe(text: string): string {
  return text.replace(unsafe, escaped);
}

/**
 * Text safe inside a one-line comment of any file we write: a `#` comment in bash or YAML, an HTML comment in
 * Markdown, or a Markdown code span. Besides terminalSafe: `-->` and `--!>` end an HTML comment (HTML's parser
 * accepts both), and a backtick ends a code span.
 */
export function commentSafe(text: string): string {
  return terminalSafe(text)
    .replace(/--(!?)>/g, '--$1\\u003e')
    .replace(/`/g, '\\u0060');
}

/** Whether text holds a character that terminalSafe would escape. */
export function hasUnsafeCharacter(text: string): boolean {
  unsafe.lastIndex = 0;
  const found = unsafe.test(text);
  unsafe.lastIndex = 0;
  return found;
}

/**
 * One bash word that reads back as exactly `text` and shows no control character raw: bash's $'…', with each such
 * character as the \xHH escapes of its UTF-8 bytes. Not \uHHHH: bash turns that into bytes through the locale, and
 * under LC_ALL=C it would not give back the same path.
 */
export function bashEscapedWord(text: string): string {
  const bytes = (character: string) =>
    named[character] ?? [...utf8.encode(character)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  return `$'${text.replace(/[\\']/g, '\\$&').replace(unsafe, bytes)}'`;
}

/** Lines for a terminal: each line made safe, the line breaks between them kept (a message may span lines). */
export function terminalLines(text: string): string {
  return text.split('\n').map(terminalSafe).join('\n');
}
