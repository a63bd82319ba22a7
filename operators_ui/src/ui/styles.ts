// The console's stylesheet (one <style> element; the page's CSP allows inline styles only).
// The rules for phones (one column under 760 px) come last, in PHONE.

/** Where the console turns into its one-column phone layout. */
const PHONE_MAX_PX = 760;

// One column: the list or the open conversation (Back between them), the header's screens in a
// row that scrolls in its own box and the account in a menu, tables as cards, charts that
// shrink. Nothing may be wider than the screen: the page never scrolls sideways.
const PHONE = `@media (max-width:${PHONE_MAX_PX}px){
.shell{overflow-wrap:anywhere}
input,select,textarea{font-size:16px}
button,.button,select{min-height:36px}
.page{padding:12px}
fieldset{min-width:0}
.top{flex-wrap:wrap;gap:6px 8px;padding:6px 10px;position:relative}
.brand{margin-right:0}
.top nav{order:10;flex:1 0 100%;overflow-x:auto;scrollbar-width:none;padding-bottom:2px}
.top nav button{flex:none;white-space:nowrap}
.status-label{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.top label.inline{margin:0}
.menu-toggle{display:inline-flex;align-items:center;justify-content:center;min-width:40px}
.account{display:none;position:absolute;top:100%;right:8px;z-index:30;flex-direction:column;align-items:stretch;gap:8px;background:#1d2330;padding:10px;border-radius:0 0 10px 10px;min-width:200px;max-width:calc(100vw - 16px);box-shadow:0 6px 18px rgba(0,0,0,.25)}
.account.open{display:flex}
.account .me{padding:2px 4px}
.account .notice-label{position:static;width:auto;height:auto;overflow:visible;clip:auto}
.toast{left:16px;right:16px;bottom:12px}
.inbox{flex-direction:column}
.list{width:100%;border-right:0;flex:1}
.inbox.open>.list,.inbox:not(.open)>.conv{display:none}
.item .grow{min-width:0}
.item .preview{max-width:100%}
.hint{display:none}
.list ul:empty{flex:none}
.back{display:inline-flex;align-items:center;gap:4px}
.head{padding:6px 8px;gap:6px}
.head button{padding:4px 8px}
.body{position:relative}
.thread{padding:10px 8px}
.msg{max-width:88%}
.composer{padding:6px 8px}
.tools{flex-wrap:wrap}
.phone-only{display:inline-flex;align-items:center;justify-content:center;min-width:40px;font-weight:700}
.answers{left:4px;right:4px;max-height:50vh}
.answers li{padding:8px}
.client-card{position:absolute;inset:0;width:auto;margin:0;border-radius:0;z-index:5}
.figure{min-width:0;flex:1 1 140px}
.charts{flex-direction:column;align-items:stretch}
.chart{min-width:0}
.hbar-row{grid-template-columns:minmax(0,1fr) minmax(0,1.5fr) 32px}
.hbar{min-width:0}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:auto}
table.cards{background:none}
table.cards thead{display:none}
table.cards tr{background:#fff;border:1px solid #dde3ec;border-radius:10px;margin:0 0 8px;padding:6px 0}
table.cards td{border:0;padding:3px 12px}
table.cards td.card-title{font-weight:600}
table.cards td[data-label]::before{content:attr(data-label) ": ";color:#5a6477}
table.cards td:empty{display:none}
table.week,table.week tbody,table.week tr,table.week th,table.week td{display:block}
table.week th{padding:6px 0 0;border:0}
table.week td{padding:2px 0 6px}
.interval{margin:2px 8px 2px 0}
.crm-columns{flex-direction:column}
.crm .filters label.inline{flex:1 1 100%;justify-content:space-between}
.crm .filters input,.crm .filters select{flex:1;min-width:0}
.crm-card .row{flex-wrap:wrap}
.stage-column{flex-basis:78vw}
.modal{position:fixed}
.stage-row{flex-wrap:wrap}
.stage-row input.grow{flex:1 1 100%;order:-1}
}
`;

export const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f3f5f8}
button,select,input,textarea{font:inherit}
button,.button{border:1px solid #c8cfdb;background:#fff;border-radius:6px;padding:4px 10px;cursor:pointer;color:inherit}
button:hover,.button:hover{background:#eef2f8}
button.primary{background:#2f6fed;border-color:#2f6fed;color:#fff}
button.danger{color:#b3261e;border-color:#e3b4b0}
button.link{border:0;background:none;padding:0;color:#2f6fed;text-decoration:underline}
input,select,textarea{border:1px solid #c8cfdb;border-radius:6px;padding:5px 8px;background:#fff}
label{display:flex;flex-direction:column;gap:4px;margin:6px 0}
.field{display:flex;flex-direction:column;gap:4px;margin:6px 0}
.field>label{margin:0}
.field-help{color:#5b6475}
label.inline{display:inline-flex;flex-direction:row;align-items:center;gap:6px;margin:0 8px 0 0}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.grow{flex:1}
.row{display:flex;align-items:center;gap:8px}
.center{display:flex;height:100vh;align-items:center;justify-content:center}
.card{background:#fff;border:1px solid #dde3ec;border-radius:10px;padding:16px}
.login{display:flex;height:100vh;align-items:center;justify-content:center}
.login form{width:340px;max-width:calc(100vw - 24px);display:flex;flex-direction:column;gap:6px}
.error{color:#b3261e}
.shell{display:flex;flex-direction:column;height:100vh;height:100dvh}
.top{display:flex;align-items:center;gap:10px;padding:8px 14px;background:#1d2330;color:#fff}
.top button,.top select{background:#2b3344;color:#fff;border-color:#3c4658}
.top .tab.on{background:#2f6fed;border-color:#2f6fed}
.brand{font-size:16px;margin-right:8px}
nav{display:flex;gap:6px}
.top nav{min-width:0;overflow-x:auto;scrollbar-width:thin}
.top nav button{flex:none;white-space:nowrap}
.top>*:not(nav){flex-shrink:0}
.account{display:contents}
.notice{display:inline-flex;align-items:center;gap:6px}
.notice-label{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.menu-toggle,.back,.phone-only{display:none}
.banner{background:#b3261e;color:#fff;padding:6px 14px;font-weight:600}
.toast{position:fixed;bottom:16px;right:16px;background:#1d2330;color:#fff;padding:10px 14px;border-radius:8px;z-index:20;max-width:min(420px,calc(100vw - 32px))}
main{flex:1;min-height:0;display:flex}
.inbox{display:flex;flex:1;min-height:0}
.list{width:360px;border-right:1px solid #dde3ec;background:#fff;display:flex;flex-direction:column;min-height:0}
.tabs{display:flex;flex-wrap:wrap;gap:4px;padding:8px;border-bottom:1px solid #eef1f5}
.tab.on{background:#2f6fed;color:#fff;border-color:#2f6fed}
.count{margin-left:6px;background:#e8edf7;color:#1d2330;border-radius:8px;padding:0 6px;font-size:12px}
.search{margin:8px}
.list ul{list-style:none;margin:0;padding:0;overflow:auto;flex:1}
.item{display:flex;gap:10px;padding:10px 12px;border-bottom:1px solid #f0f2f6;cursor:pointer;align-items:flex-start}
.item.on{background:#eaf1ff}
.item:focus-visible,.deal-card:focus-visible,.button:focus-within{outline:2px solid #2f6fed;outline-offset:-2px}
.item .preview{color:#5a6477;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:220px}
.item .meta{font-size:12px;color:#566073;display:flex;gap:8px}
.item .preview.match{white-space:normal;display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical}
.item mark{background:#ffe58a;color:#1d2433;border-radius:2px}
.item .tag{background:#fff0c2;color:#5c4400;border-radius:6px;padding:0 6px;font-size:11px;margin-right:4px}
.list .more{margin:8px 12px}
.banner.transfer{display:flex;gap:12px;align-items:center;flex-wrap:wrap;background:#eef4ff;border-bottom:1px solid #cddcfb;padding:8px 12px;color:#1d2f5c}
.rating{display:inline-flex;gap:6px;align-items:baseline;flex-wrap:wrap}
.rating .stars{color:#8a5a00;letter-spacing:1px}.rating .stars .off{color:#c4cad6}
.rating .comment{color:#3d4657;font-style:italic}
.badge.blocked,.badge.spam{background:#fde2e0;color:#8c1d18}
.rate-form{display:flex;flex-direction:column;gap:6px;padding:8px 12px;border-top:1px solid #dde3ec;background:#fff}
.rate-form textarea{width:100%}.rate-form button{align-self:flex-start}
fieldset.rate{display:flex;gap:2px;border:0;margin:0;padding:0}
.rate legend{font-weight:600;margin-bottom:4px;padding:0}
.rate label{font-size:24px;line-height:1;color:#6b7385;cursor:pointer;padding:2px 4px;border-radius:4px}
.rate label.on{color:#8a5a00}.rate label:focus-within{outline:2px solid #2f6fed}
.rate input{position:absolute;opacity:0;width:1px;height:1px;margin:0}
.countdown{color:#b3261e;font-weight:600}
.item .tag.late{background:#b3261e;color:#fff;font-weight:600}
.item .due{color:#5c4400}
.list-tools{flex-wrap:wrap;gap:8px;padding:4px 8px;font-size:13px}
.unread{background:#2f6fed;color:#fff;border-radius:10px;padding:0 7px;font-size:12px}
.icon{vertical-align:-3px;flex:none}
.ch-icon{display:inline-flex;width:26px;height:26px;border-radius:50%;align-items:center;justify-content:center;background:#e8edf7;font-size:12px;font-weight:700;flex:none}
.ch-telegram{background:#d7ecfb;color:#1a6f99}.ch-vk{background:#dfe8f5;color:#0055b8}.ch-email{background:#f3e9d9}.ch-widget{background:#e3f4e8}
.empty{color:#566073;padding:12px;text-align:center}
.hint{font-size:12px;color:#566073;padding:6px 10px;margin:0;border-top:1px solid #eef1f5}
.conv{flex:1;display:flex;min-width:0;min-height:0}
.conv>.empty{margin:auto}
.conversation{flex:1;display:flex;flex-direction:column;min-height:0;position:relative}
.head{display:flex;flex-wrap:wrap;align-items:center;gap:8px;padding:8px 12px;background:#fff;border-bottom:1px solid #dde3ec}
.head .client{font-weight:700;font-size:15px;text-decoration:none;color:#1d2330}
.badge{font-size:12px;border-radius:8px;padding:1px 8px;background:#e8edf7}
.badge.crm{background:#fff1c2}
.st-active{background:#dff3e4}.st-queued,.st-offered{background:#fdecc8}.st-closed{background:#eceff3}
.body{flex:1;display:flex;min-height:0}
.col{flex:1;display:flex;flex-direction:column;min-width:0;min-height:0}
.thread{flex:1;overflow:auto;padding:12px 16px;display:flex;flex-direction:column;gap:6px}
.day{align-self:center;font-size:12px;color:#5a6477;background:#e8edf7;border-radius:10px;padding:2px 10px;margin:8px 0}
.start{align-self:center;font-size:12px;color:#566073}
.msg{max-width:70%;padding:6px 10px;border-radius:10px;background:#fff;border:1px solid #e1e6ee;align-self:flex-start}
.msg.out{align-self:flex-end;background:#dcebff;border-color:#c5dcfb}
.msg.system{align-self:center;background:#f0f2f6;color:#4a5466;font-size:13px;max-width:85%}
.msg.hidden{background:#fff6d6;border:1px dashed #d9a400;color:#4d3b00}
.msg .who{font-size:12px;font-weight:600;color:#5a6477;display:flex;gap:6px;align-items:center}
.msg .tag{background:#8a6a00;color:#fff;border-radius:6px;padding:0 6px;font-size:11px}
.msg .text{white-space:pre-wrap;word-break:break-word}
.msg .when{font-size:11px;color:#566073;text-align:right}
.preview-img{max-width:min(240px,100%);max-height:180px;height:auto;border-radius:6px;display:block;margin-top:4px;background:#e8edf7}
.file{display:block;margin-top:4px}
.typing{font-size:12px;color:#5a6477;padding:2px 16px}
.composer{border-top:1px solid #dde3ec;background:#fff;padding:8px 12px;position:relative}
.composer textarea{width:100%;resize:vertical}
.composer.whisper{background:#fff6d6;border-top:2px dashed #d9a400}
.composer.whisper textarea{background:#fffbea;border-color:#d9a400}
.whisper-note{font-size:12px;font-weight:600;color:#8a6a00;margin-bottom:4px}
.tools{display:flex;gap:6px;align-items:center;margin-top:6px}
.toggle.on{background:#8a6a00;color:#fff;border-color:#8a6a00}
.answers{position:absolute;bottom:100%;left:12px;right:12px;background:#fff;border:1px solid #c8cfdb;border-radius:8px;list-style:none;margin:0;padding:4px;max-height:200px;overflow:auto;box-shadow:0 4px 16px rgba(0,0,0,.1)}
.answers li{padding:4px 8px;border-radius:4px;cursor:pointer}
.answers li.on{background:#eaf1ff}
.emoji{display:flex;flex-wrap:wrap;gap:2px;margin-bottom:4px}
.emoji button{border:0;padding:2px 4px;font-size:18px}
.files{display:flex;gap:6px;flex-wrap:wrap;margin-bottom:4px}
.chip{background:#e8edf7;border-radius:10px;padding:1px 8px;font-size:12px}
.client-card{width:280px;margin:8px;overflow:auto;border-radius:10px}
.modal{position:absolute;inset:0;background:rgba(20,25,35,.35);display:flex;align-items:center;justify-content:center;z-index:10}
.modal .card{width:420px;max-width:calc(100% - 24px);max-height:80%;overflow:auto}
.pick{list-style:none;padding:0;margin:0 0 10px}
.pick button{width:100%;text-align:left;margin:2px 0}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:#9aa3b2}
.status-online.dot{background:#2ea44f}.status-away.dot{background:#e3a008}.status-offline.dot{background:#9aa3b2}
.page{flex:1;overflow:auto;padding:16px 20px}
.figures{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.figure{background:#fff;border:1px solid #dde3ec;border-radius:10px;padding:10px 14px;min-width:150px}
.figure .label{font-size:12px;color:#5a6477}.figure .value{font-size:22px;font-weight:700}
.charts{display:flex;gap:12px;flex-wrap:wrap;align-items:flex-start;margin:0 0 12px}
.chart{background:#fff;border:1px solid #dde3ec;border-radius:10px;padding:10px 14px;margin:0;min-width:280px}
.chart figcaption{font-size:12px;color:#5a6477;margin-bottom:6px}
.chart .bar{fill:#2f6fed}.chart .bar-value{font-size:11px;fill:#1d2433}
.chart .axis{font-size:11px;fill:#5a6477}.chart .axis-line{stroke:#dde3ec}
.chart svg{display:block;max-width:100%;height:auto}
.hbar-row{display:grid;grid-template-columns:140px 1fr 32px;gap:8px;align-items:center;margin:4px 0;font-size:13px}
.hbar-name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.hbar{background:#eef2f8;border-radius:4px;height:12px;min-width:160px;overflow:hidden}
.hbar-fill{display:block;height:100%;background:#2f6fed}.hbar-value{text-align:right}
table{border-collapse:collapse;background:#fff;margin:8px 0}
td,th{border-bottom:1px solid #eef1f5;padding:6px 10px;text-align:left;vertical-align:top}
.form{max-width:640px;margin-top:12px}
fieldset{border:1px solid #dde3ec;border-radius:8px;margin:8px 0}
.interval{display:inline-flex;gap:4px;align-items:center;margin-right:8px}
.muted{color:#566073}
.pre{white-space:pre-wrap}
.plain{list-style:none;padding:0}
.embed textarea{width:100%;font-family:monospace;font-size:12px}
.crm .tabs{border:0;padding:0 0 10px}
.crm .filters{flex-wrap:wrap;margin-bottom:10px}
.crm-table{border-collapse:collapse;width:100%;background:#fff}
.crm-table th,.crm-table td{border-bottom:1px solid #eef1f5;padding:6px 8px;text-align:left;vertical-align:top}
button.badge.crm{border:1px solid #e8d48a;cursor:pointer}
.crm-card h2{margin:0 0 8px}
.crm-fields p{margin:4px 0}
.crm-columns{display:flex;gap:20px;margin-top:12px}
.crm-columns section{flex:1;min-width:0}
.crm .write{margin-top:12px;max-width:560px}
.timeline{list-style:none;padding:0;margin:0}
.timeline li{border-left:2px solid #c8cfdb;padding:2px 0 8px 10px}
.deal-board{display:flex;gap:10px;align-items:flex-start;overflow-x:auto;margin-top:10px}
.stage-column{flex:0 0 210px;min-height:260px;background:#e9edf3;border-radius:8px;padding:8px}
.stage-column h4{margin:0 0 8px}
.stage-column.over{outline:2px dashed #2f6fed}
.stage-column.sem-won h4{color:#1e7b34}
.stage-column.sem-lost h4{color:#b3261e}
.deal-card{background:#fff;border:1px solid #dde3ec;border-radius:6px;padding:8px;margin-bottom:6px;cursor:grab}
.row.wrap{flex-wrap:wrap}
.stack>input,.stack>select,.stack>textarea{display:block;width:100%}
.stack>label{margin:8px 0 2px}
dialog.confirm{width:440px;max-width:calc(100% - 24px);max-height:85vh;overflow:auto;border:1px solid #dde3ec}
dialog.confirm::backdrop{background:rgba(20,25,35,.35)}
dialog.confirm .form{margin-top:0;border:0;padding:0}
.field-error{margin:2px 0 6px;font-size:13px}
.msg .msg-action{font-size:11px;margin-left:6px;color:#1a4bb0}
ol.order{margin:6px 0;padding-left:22px}
.crm-field{margin:4px 0}
.crm-field.editing{max-width:560px;background:#f6f8fb;border-radius:6px;padding:6px 8px}
.crm-field button.edit{margin-left:8px}
.crm-field fieldset{border:0;padding:0;margin:0}
.crm-field .pre,.webhook-url{white-space:pre-wrap;overflow-wrap:anywhere}
.stage-rows{padding:0;margin:0 0 8px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.stage-row{display:flex;gap:6px;align-items:center;background:#fff;border:1px solid #dde3ec;border-left:6px solid #9aa5b8;border-radius:6px;padding:6px;margin-bottom:6px}
.stage-row.dragging{opacity:.5}
.stage-row input[type=color]{width:40px;padding:0}
.stage-row .handle{cursor:grab}
.pipeline-editor,.webhook-list .card{max-width:760px}
.secret-once{background:#fff8dc;max-width:760px}
${PHONE}`;
