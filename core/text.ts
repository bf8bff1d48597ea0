/** Control characters (C0, DEL and C1): no attribute, name or reason has a use for them, and terminals obey them. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const CONTROL_CHARACTER_ERROR = "must not contain control characters";

export function hasNoControlCharacters(text: string): boolean {
  return !CONTROL.test(text);
}
