// The operator console: mounts the app and routes between its screens (each in its folder).
// Client text is only ever rendered as text nodes (JSX escapes it); never innerHTML.
import { render } from "preact";
import { AdminChannels } from "./admin/Channels";
import { Lines } from "./admin/Lines";
import { Users } from "./admin/Users";
import { Answers } from "./answers/Answers";
import { Bots } from "./admin/Bots";
import { Forms } from "./admin/Forms";
import { Board } from "./board/Board";
import { CrmSection } from "./crm/Section";
import { t } from "./i18n";
import { Inbox } from "./inbox/Inbox";
import { installShortcuts } from "./inbox/shortcuts";
import { boot } from "./state/session";
import { useStore } from "./state/store";
import { Header } from "./shell/Header";
import { Login } from "./shell/Login";
import { CSS } from "./ui/styles";

function App() {
  const S = useStore();
  if (S.booting) return <div class="center">{t("login.loading")}</div>;
  if (!S.me) return <Login />;
  return (
    <div class="shell">
      <Header />
      {!S.connected && <div class="banner" data-testid="connection-banner" role="status">{t("conn.lost")}</div>}
      {S.toast && <div class="toast" role="alert" data-testid="toast">{S.toast}</div>}
      <main>
        {S.view === "inbox" && <Inbox />}
        {S.view === "board" && <Board />}
        {S.view === "crm" && <CrmSection />}
        {S.view === "answers" && <Answers />}
        {S.view === "users" && <Users />}
        {S.view === "lines" && <Lines />}
        {S.view === "channels" && <AdminChannels />}
        {S.view === "forms" && <Forms />}
        {S.view === "bots" && <Bots />}
      </main>
    </div>
  );
}

const style = document.createElement("style");
style.textContent = CSS;
document.head.appendChild(style);
installShortcuts();
render(<App />, document.getElementById("app")!);
boot();
