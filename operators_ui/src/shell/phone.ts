// The phone layout's one piece of state. Under 760 px the inbox shows either the list or the
// open conversation; Back returns to the list without unselecting it, so wider screens (and
// everything that reads S.selected) are unchanged.
import { S, changed, subscribe } from "../state/store";

/** The conversation Back left: still selected, but the list is shown instead. */
let leftFor: string | null = null;

/** Whether the inbox shows the open conversation (on a phone, instead of the list). */
export function showsConversation(): boolean {
  return S.selected !== null && S.selected !== leftFor;
}

/** The Back button of a conversation on a phone: the list again. */
export function backToList(): void {
  leftFor = S.selected;
  changed();
}

/** A row of the list was tapped (or its Accept): show what it opens, even the one left. */
export function showOpened(): void {
  leftFor = null;
}

// Opened from elsewhere (a CRM card, a client card), a conversation shows when the inbox does.
subscribe(() => { if (S.view !== "inbox") leftFor = null; });
