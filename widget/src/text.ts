// Client text becomes DOM text nodes and anchors built with createElement: never HTML.
const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

export type Piece = { text: string; href?: string };

/** Splits text into plain pieces and http(s) links (trailing punctuation stays text). */
export function linkify(text: string): Piece[] {
  const pieces: Piece[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0];
    const trailing = /[.,;:!?)\]]+$/.exec(url);
    if (trailing) url = url.slice(0, -trailing[0].length);
    const start = match.index ?? 0;
    if (start > last) pieces.push({ text: text.slice(last, start) });
    pieces.push({ text: url, href: url });
    last = start + url.length;
  }
  if (last < text.length) pieces.push({ text: text.slice(last) });
  return pieces;
}

export function renderText(parent: HTMLElement, text: string): void {
  for (const piece of linkify(text)) {
    if (piece.href) {
      const a = document.createElement("a");
      a.href = piece.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      a.textContent = piece.text;
      parent.appendChild(a);
    } else {
      parent.appendChild(document.createTextNode(piece.text));
    }
  }
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}
