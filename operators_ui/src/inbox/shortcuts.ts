// The inbox's keyboard shortcuts: Alt+↑/↓ move between conversations, Alt+Enter accepts the
// open one, Alt+M focuses the composer.
import { accept, listed, select } from "../state/conversations";
import { S } from "../state/store";

export function installShortcuts(): void {
  document.addEventListener("keydown", (e) => {
    if (!S.me || S.view !== "inbox" || !e.altKey) return;
    const items = listed();
    const at = items.findIndex((c) => c.id === S.selected);
    if (e.key === "ArrowDown" && items.length) { e.preventDefault(); select(items[Math.min(items.length - 1, at + 1)].id); }
    else if (e.key === "ArrowUp" && items.length) { e.preventDefault(); select(items[Math.max(0, at - 1)].id); }
    else if (e.key === "Enter" && S.selected) { e.preventDefault(); accept(S.selected); }
    else if (e.key.toLowerCase() === "m") { e.preventDefault(); window.dispatchEvent(new CustomEvent("ol-focus-composer")); }
  });
}
