// Styles live inside the shadow root: nothing leaks into the host page and the page's CSS does
// not reach in (`all: initial` stops inherited properties at the host).
// On a phone (narrow, or a phone on its side) the open chat takes the whole screen.
const PHONE_MAX_PX = 760;
const PHONE_MAX_HEIGHT_PX = 500;
// The channel's colour arrives with the session (--ol-c on the host); until then, and for a
// widget the hub refused, the default the channel config has too (WidgetConfig.color).
export const DEFAULT_COLOR = "#2f6fed";

export const CSS = `
:host{all:initial}
*{box-sizing:border-box;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Arial,sans-serif;font-size:14px;line-height:1.4}
.ol-l{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;background:var(--ol-c,${DEFAULT_COLOR});color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;padding:0}
.ol-b{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#e5383b;color:#fff;font-size:12px;font-weight:600;display:flex;align-items:center;justify-content:center;padding:0 5px}
.ol-p{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:370px;max-width:calc(100vw - 24px);height:560px;max-height:calc(100vh - 110px);background:#fff;color:#1f2330;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.22);display:flex;flex-direction:column;overflow:hidden}
.ol-p[hidden],[hidden]{display:none!important}
.ol-h{background:var(--ol-c,${DEFAULT_COLOR});color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}
.ol-h b{font-size:16px;display:block}.ol-h small{font-size:12px}
.ol-h .ol-x{margin-left:auto;background:none;border:0;color:#fff;font-size:22px;cursor:pointer;line-height:1}
.ol-s{padding:6px 12px;background:#fff4d6;color:#5c4400;font-size:13px}
.ol-n{padding:6px 12px;background:#fde2e2;color:#8a1111;font-size:13px}
.ol-q{padding:6px 12px;background:#e8f0fe;color:#1a3c8a;font-size:13px}
.ol-t{flex:1;overflow-y:auto;overscroll-behavior:contain;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f6f7f9}
.ol-m{max-width:80%;padding:8px 10px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}
.ol-m.own{align-self:flex-end;background:var(--ol-c,${DEFAULT_COLOR});color:#fff;border-bottom-right-radius:4px}
.ol-m.op{align-self:flex-start;background:#fff;border:1px solid #e3e5ea;border-bottom-left-radius:4px}
.ol-m.sys,.ol-g{align-self:center;background:transparent;color:#667;font-size:13px;text-align:center}
.ol-m a{color:inherit;text-decoration:underline}
.ol-m .au{display:block;font-size:12px;font-weight:600}
.ol-m .mt{display:block;font-size:11px;text-align:right;margin-top:2px}
.ol-m.failed{opacity:.7}.ol-m .rt{background:none;border:0;color:inherit;text-decoration:underline;cursor:pointer;font-size:11px;padding:0 0 0 6px}
.ol-m img{display:block;max-width:min(220px,100%);max-height:220px;height:auto;border-radius:8px;margin-top:4px;background:rgba(0,0,0,.06)}
.ol-m .fl{display:block;margin-top:4px}
.ol-ty{font-size:12px;color:#667;padding:0 14px 4px;min-height:16px;background:#f6f7f9}
.ol-c{border-top:1px solid #e3e5ea;padding:8px;display:flex;gap:6px;align-items:flex-end;background:#fff;position:relative}
.ol-c textarea{flex:1;resize:none;border:1px solid #d5d8de;border-radius:10px;padding:8px;height:40px;max-height:120px;color:#1f2330;background:#fff}
.ol-c button,.ol-btn{border:0;border-radius:10px;background:var(--ol-c,${DEFAULT_COLOR});color:#fff;padding:9px 12px;cursor:pointer}
.ol-c .ic{background:none;color:#667;font-size:18px;padding:6px}
.ol-e{position:absolute;bottom:52px;left:8px;background:#fff;border:1px solid #e3e5ea;border-radius:10px;padding:6px;display:grid;grid-template-columns:repeat(8,1fr);gap:2px;box-shadow:0 4px 14px rgba(0,0,0,.15)}
.ol-e button{background:none;border:0;font-size:20px;cursor:pointer;padding:2px}
.ol-u{padding:6px 8px;display:flex;flex-wrap:wrap;gap:6px;background:#fff}
.ol-u .ch{border:1px solid #d5d8de;border-radius:8px;padding:4px 6px;font-size:12px;max-width:160px;position:relative}
.ol-u .ch img{display:block;max-width:60px;max-height:60px}
.ol-u .ch .nm{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.ol-u progress{width:100%;height:6px}
.ol-u .rm{position:absolute;top:-6px;right:-6px;border:0;border-radius:50%;width:18px;height:18px;background:#667;color:#fff;cursor:pointer;font-size:11px;line-height:18px;padding:0}
.ol-f{padding:14px;display:flex;flex-direction:column;gap:8px;overflow-y:auto}
.ol-f input[type=text],.ol-f input[type=email],.ol-f input[type=tel],.ol-f textarea{border:1px solid #d5d8de;border-radius:8px;padding:8px;color:#1f2330;background:#fff}
.ol-f label{display:flex;gap:6px;align-items:flex-start;font-size:13px}
.ol-cs{align-self:stretch;background:#fff;border:1px solid #e3e5ea;border-radius:12px;padding:10px;display:flex;flex-direction:column;gap:6px;text-align:center}
.ol-cs .st{display:flex;justify-content:center;gap:4px}
.ol-cs .st button{background:none;border:0;font-size:26px;cursor:pointer;color:#c5c8cf;padding:0}
.ol-cs .st button.on{color:#f5a623}
.ol-cs textarea{border:1px solid #d5d8de;border-radius:8px;padding:6px;resize:none;height:50px}
.ol-dz{outline:2px dashed var(--ol-c,${DEFAULT_COLOR});outline-offset:-6px}
@media (max-width:${PHONE_MAX_PX}px),(max-height:${PHONE_MAX_HEIGHT_PX}px){
.ol-p{top:0;left:0;right:0;bottom:0;width:auto;height:auto;max-width:none;max-height:none;border-radius:0;box-shadow:none}
.ol-h{padding:8px 8px 8px 14px;padding-top:max(8px,env(safe-area-inset-top))}
.ol-h .ol-x{min-width:44px;min-height:44px;font-size:28px}
.ol-c{padding-bottom:max(8px,env(safe-area-inset-bottom))}
.ol-c textarea,.ol-f input[type=text],.ol-f input[type=email],.ol-f input[type=tel],.ol-f textarea,.ol-cs textarea{font-size:16px}
.ol-c .ic{min-width:40px;min-height:40px}
.ol-m{max-width:88%}
}
`;
