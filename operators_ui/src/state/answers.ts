// Quick answers, cached for half a minute: the composer looks them up on every "/" keystroke.
import * as api from "../api/client";
import type { QuickAnswer } from "../api/types";

let cache: { at: number; items: QuickAnswer[] } = { at: 0, items: [] };

export async function quickAnswers(force = false): Promise<QuickAnswer[]> {
  if (force || Date.now() - cache.at > 30000) cache = { at: Date.now(), items: await api.listQuickAnswers() };
  return cache.items;
}

/** One was created, edited or deleted: the composer's next look-up asks the hub again. */
export function forgetAnswers(): void {
  cache = { at: 0, items: [] };
}
