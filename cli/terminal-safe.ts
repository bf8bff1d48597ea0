/** C0 controls but tab and newline, DEL, and C1 controls (0x80-0x9f, which some terminals obey as escapes too). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * `text` with every control character a terminal would act on (ESC sequences that move the cursor, retitle the
 * window or rewrite what was printed; carriage return; bell) shown as a visible `\u{..}` escape instead. Message
 * data, agent names and peers' error messages reach the operator's terminal through `bmn tail`, `listen` and the
 * rest: none of it may drive the terminal.
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`);
}
