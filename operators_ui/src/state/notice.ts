// How operators notice what waits for them: an offer rings (a short tone made with WebAudio,
// switchable and remembered), a browser notification while the tab is hidden (once the user
// allowed them), and the tab title counting waiting offers and unread conversations.
import type { Conv } from "../api/types";
import { t } from "../i18n";
import { S, changed, subscribe, write } from "./store";

const SOUND_KEY = "openlines.sound";

/** Whether offers ring (on unless the user switched it off in this browser). */
export function soundOn(): boolean {
  return localStorage.getItem(SOUND_KEY) !== "off";
}

/** The header's switch; switching on is a user gesture, so it is when notifications are asked. */
export function setSound(on: boolean): void {
  localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  if (on) { unlockAudio(); askNotifications(); }
  changed();
}

/** "default" (not asked yet), "granted", "denied", or "unsupported" by this browser. */
export function notificationPermission(): NotificationPermission | "unsupported" {
  return "Notification" in window ? Notification.permission : "unsupported";
}

/** Asks the browser for notifications; call it from a click (browsers ignore it otherwise). */
export function askNotifications(): void {
  if (notificationPermission() !== "default") return;
  Notification.requestPermission().then(changed, changed);
}

// --- the ring ---

let audio: AudioContext | null = null;

// A browser keeps an AudioContext made before any click silent: one is made (or resumed) on
// the first click or key of the page, so an offer that comes later can ring.
function unlockAudio(): void {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume().catch(() => undefined);
  } catch { /* no audio here */ }
}
document.addEventListener("pointerdown", unlockAudio, { once: true, capture: true });
document.addEventListener("keydown", unlockAudio, { once: true, capture: true });

/** Two short tones (A5 then E6), quiet; nothing when the sound is switched off. */
function ring(): void {
  if (!soundOn()) return;
  try {
    audio = audio || new AudioContext();
    const gain = audio.createGain();
    gain.gain.value = 0.06;
    gain.connect(audio.destination);
    [880, 1320].forEach((hz, i) => {
      const osc = audio!.createOscillator();
      osc.frequency.value = hz;
      osc.connect(gain);
      const at = audio!.currentTime + i * 0.16;
      osc.start(at);
      osc.stop(at + 0.12);
    });
  } catch { /* no audio device */ }
}

function notify(title: string, body: string, tag: string): void {
  if (!document.hidden || notificationPermission() !== "granted") return;
  try {
    const shown = new Notification(title, { body, tag });
    shown.onclick = () => { window.focus(); shown.close(); };
  } catch { /* not allowed in this context */ }
}

/** A conversation was offered to the user: it rings, and notifies while the tab is hidden. */
export function offerArrived(c: Conv): void {
  ring();
  notify(t("notify.offer"), c.client.name || t("list.unknownClient"), `offer-${c.id}`);
}

/** A client wrote in one of the user's conversations: noticed only while the tab is hidden,
 * and not for one that waits for an operator (its offer is the notice). */
export function messageArrived(c: Conv, text: string): void {
  if (!document.hidden || c.status !== "active") return;
  ring();
  notify(t("notify.message"), text.slice(0, 100), `message-${c.id}`);
}

// --- the tab title ---

/** What the client wrote that the user has not seen yet (the list's unread badge). */
export function unreadOf(c: Conv): number {
  const unread = c.unread || 0;
  const seen = S.seen.get(c.id) ?? 0;
  // The hub resets its count when an operator answers: then all it counts is new.
  return seen > unread ? unread : unread - seen;
}

/** Offers waiting for the user plus their open conversations with unread messages. */
export function waitingCount(): number {
  const me = S.me?.id;
  if (!me) return 0;
  let n = 0;
  for (const c of S.convs.values()) {
    if (c.status === "offered" && c.offered_to.includes(me)) n++;
    else if (c.status !== "closed" && unreadOf(c) > 0
      && (c.assignee_id === me || c.participants.some((p) => p.user_id === me))) n++;
  }
  return n;
}

subscribe(() => {
  const n = waitingCount();
  const title = n ? `(${n}) ${t("app.title")}` : t("app.title");
  if (document.title !== title) document.title = title;
});

// Back on the tab, the open conversation's messages are in front of the user: seen.
document.addEventListener("visibilitychange", () => {
  if (document.hidden || S.view !== "inbox" || !S.selected) return;
  const c = S.convs.get(S.selected);
  if (c) { write.seen.set(c.id, c.unread); changed(); }
});
