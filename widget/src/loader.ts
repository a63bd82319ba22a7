// The embed loader: tiny on purpose (<= 2 KB). It draws the launcher inside a shadow root and
// fetches the real widget bundle only when the visitor reaches for it (hover, focus, click),
// or at once for a returning visitor who has a conversation to resume.
declare const __BUNDLE_VERSION__: string;

(() => {
  const w = window as unknown as { OpenLines?: unknown };
  if (w.OpenLines) return;
  const script = (document.currentScript ||
    document.querySelector("script[data-openlines-key]")) as HTMLScriptElement | null;
  if (!script) return;
  const attr = (name: string) => script.getAttribute(`data-openlines-${name}`) || "";
  const key = attr("key");
  // The hub is wherever this script came from, even when the embed snippet is relative.
  const base = script.src.replace(/\/widget\/loader\.js([?#].*)?$/, "");
  // Identity verification: the site's backend prints who is signed in and its HMAC.
  const state = {
    key,
    base,
    identity: attr("identity"),
    identityHash: attr("identity-hash"),
    root: null as ShadowRoot | null,
    open: false,
  };
  w.OpenLines = state;
  let requested = false;
  const load = (open: boolean) => {
    state.open = state.open || open;
    if (requested) return;
    requested = true;
    const bundle = document.createElement("script");
    bundle.async = true;
    bundle.src = `${base}/widget/widget.js?v=${__BUNDLE_VERSION__}`;
    document.head.appendChild(bundle);
  };
  const mount = () => {
    const host = document.createElement("div");
    host.id = "openlines-widget";
    const root = host.attachShadow({ mode: "open" });
    root.innerHTML =
      "<style>:host{all:initial}.ol-l{position:fixed;right:20px;bottom:20px;z-index:2147483000;" +
      "width:56px;height:56px;border:0;border-radius:50%;background:var(--ol-c,#2f6fed);" +
      "color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;" +
      "align-items:center;justify-content:center;padding:0}</style>" +
      '<button class="ol-l" data-testid="ol-launcher" aria-label="Chat">' +
      '<svg width="28" height="28" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true">' +
      '<path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>' +
      "</button>";
    state.root = root;
    const launcher = root.querySelector("button") as HTMLButtonElement;
    launcher.onclick = () => load(true);
    launcher.onmouseenter = launcher.onfocus = () => load(false);
    document.body.appendChild(host);
    try {
      if (localStorage.getItem(`openlines:${key}`)) load(false);
    } catch {
      // Storage may be blocked (privacy modes): then the bundle loads on demand only.
    }
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
