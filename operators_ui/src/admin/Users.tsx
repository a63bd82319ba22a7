// Admin: the staff, their roles and whether they may sign in.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Role, User } from "../api/types";
import { t } from "../i18n";
import { S } from "../state/store";
import { fail, rememberNames } from "../state/ui";
import { FieldError } from "../ui/FieldError";

const ROLES: Role[] = ["operator", "supervisor", "manager", "admin"];

export function Users() {
  const [users, setUsers] = useState<User[]>([]);
  const [refused, setRefused] = useState<unknown>(null);
  const reload = () => api.listUsers().then((list) => { setUsers(list); rememberNames(list); }).catch(fail);
  useEffect(() => { reload(); }, []);
  const patch = (id: string, body: { role?: Role; active?: boolean }) => api.patchUser(id, body).then(reload).catch(fail);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const d = new FormData(form);
    const field = (k: string) => String(d.get(k) ?? "");
    setRefused(null);
    try {
      await api.createUser({ name: field("name"), email: field("email"), password: field("password"), role: field("role") as Role });
      form.reset();
      reload();
    } catch (err) { setRefused(err); fail(err); }
  };
  return (
    <div class="page">
      <h2>{t("users.title")}</h2>
      <table class="cards">
        <thead><tr><th>{t("users.name")}</th><th>{t("users.email")}</th><th>{t("users.role")}</th><th>{t("users.state")}</th><th /></tr></thead>
        <tbody>{users.map((u) => (
          <tr key={u.id} data-testid="user-row"><td class="card-title">{u.name}</td><td data-label={t("users.email")}>{u.email}</td>
            <td data-label={t("users.role")}><select aria-label={t("users.role")} value={u.role} onChange={(e) => patch(u.id, { role: (e.target as HTMLSelectElement).value as Role })}>{ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}</select></td>
            <td data-label={t("users.state")}>{t(u.active ? "users.active" : "users.inactive")}</td>
            <td>{u.id !== S.me!.id && <button onClick={() => patch(u.id, { active: !u.active })}>{t(u.active ? "users.deactivate" : "users.activate")}</button>}</td></tr>
        ))}</tbody>
      </table>
      <form class="card form" onSubmit={submit}>
        <h3>{t("users.new")}</h3>
        <label>{t("users.name")}<input name="name" required data-testid="user-name" /></label>
        <FieldError err={refused} name="name" />
        <label>{t("users.email")}<input name="email" type="email" required data-testid="user-email" /></label>
        <FieldError err={refused} name="email" />
        <label>{t("users.password")}<input name="password" type="password" minLength={8} required data-testid="user-password" /></label>
        <FieldError err={refused} name="password" />
        <label>{t("users.role")}<select name="role" data-testid="user-role">{ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}</select></label>
        <FieldError err={refused} name="role" />
        <button class="primary" type="submit" data-testid="user-save">{t("act.create")}</button>
      </form>
    </div>
  );
}
