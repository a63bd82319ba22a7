// The console's strings in Russian and English (strings.json) and the current language's lookup.
import dict from "./strings.json";
import type { Localized, Msg } from "../api/types";
import { S } from "../state/store";

const table = dict as Record<string, Record<string, string>>;

export function t(key: string, vars: Record<string, string | number> = {}): string {
  let text = table[S.lang][key] ?? table.en[key] ?? key;
  // A function replacer: a value (a user's name) with "$&" in it is inserted as it is.
  for (const [k, v] of Object.entries(vars)) text = text.replace(`{${k}}`, () => String(v));
  return text;
}

/** Whether the strings table has `key` (in the console's language or English). */
export function hasText(key: string): boolean {
  return key in table[S.lang] || key in table.en;
}

/** A text the hub sent in both languages, in the console's one (English if it lacks it). */
export function localized(text: Localized | undefined, fallback = ""): string {
  if (!text) return fallback;
  return text[S.lang] || text.en || fallback;
}

export const locale = (): string => (S.lang === "ru" ? "ru-RU" : "en-GB");

/** A message's text in the console's language: a system note by its code and params (docs/i18n.md),
 * anything else as it was written. */
export function messageText(m: Pick<Msg, "text" | "system">): string {
  const note = m.system;
  if (note && hasText(`sys.${note.code}`)) return t(`sys.${note.code}`, note.params);
  return m.text;
}
