// Admin: the staff — created, edited (name, e-mail, role, the lines they work in, a new
// password) and deactivated. Line membership is kept on the lines (their operators and
// supervisors lists), so saving a user's lines changes those lines.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Line, Role, User } from "../api/types";
import { t } from "../i18n";
import { loadLines } from "../state/session";
import { S } from "../state/store";
import { fail, rememberNames, toast } from "../state/ui";
import { FieldError } from "../ui/FieldError";
import { Confirm } from "./Confirm";

const ROLES: Role[] = ["operator", "supervisor", "manager", "admin"];
type Membership = Record<string, { operator: boolean; supervisor: boolean }>;

const membershipOf = (userId: string, lines: readonly Line[]): Membership =>
  Object.fromEntries(lines.map((l) => [l.id, { operator: l.operators.includes(userId), supervisor: l.supervisors.includes(userId) }]));

/** The lines whose lists change, and how: an added operator goes last (the order is the line's). */
function lineChanges(userId: string, lines: readonly Line[], wanted: Membership): [string, { operators?: string[]; supervisors?: string[] }][] {
  const out: [string, { operators?: string[]; supervisors?: string[] }][] = [];
  for (const line of lines) {
    const want = wanted[line.id];
    if (!want) continue;
    const patch: { operators?: string[]; supervisors?: string[] } = {};
    for (const key of ["operators", "supervisors"] as const) {
      const has = line[key].includes(userId);
      const should = key === "operators" ? want.operator : want.supervisor;
      if (has !== should) patch[key] = should ? [...line[key], userId] : line[key].filter((x) => x !== userId);
    }
    if (Object.keys(patch).length) out.push([line.id, patch]);
  }
  return out;
}

function UserEditor({ user, done }: { user: User; done: (saved: boolean) => void }) {
  const [name, setName] = useState(user.name);
  const [email, setEmail] = useState(user.email);
  const [role, setRole] = useState<Role>(user.role);
  const [password, setPassword] = useState("");
  const [lines, setLines] = useState<Membership>(() => membershipOf(user.id, S.lines));
  const [err, setErr] = useState<unknown>(null);
  const toggle = (lineId: string, key: "operator" | "supervisor") =>
    setLines({ ...lines, [lineId]: { ...lines[lineId], [key]: !lines[lineId][key] } });
  const save = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    try {
      const patch: Parameters<typeof api.patchUser>[1] = {};
      if (name !== user.name) patch.name = name;
      if (email !== user.email) patch.email = email;
      if (role !== user.role) patch.role = role;
      if (password) patch.password = password;
      if (Object.keys(patch).length) await api.patchUser(user.id, patch);
      const changes = lineChanges(user.id, S.lines, lines);
      for (const [lineId, change] of changes) await api.patchLine(lineId, change);
      if (changes.length) await loadLines();
      toast(t("users.saved"));
      done(true);
    } catch (error) { setErr(error); }
  };
  const id = (k: string) => `user-edit-${user.id}-${k}`;
  return (
    <form class="card form stack" data-testid="user-editor" onSubmit={save}>
      <h3>{t("users.edit")}: {user.name}</h3>
      <label for={id("name")}>{t("users.name")}</label>
      <input id={id("name")} data-testid="user-edit-name" required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <FieldError err={err} name="name" />
      <label for={id("email")}>{t("users.email")}</label>
      <input id={id("email")} type="email" data-testid="user-edit-email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
      <FieldError err={err} name="email" />
      <label for={id("role")}>{t("users.role")}</label>
      <select id={id("role")} data-testid="user-edit-role" value={role} disabled={user.id === S.me!.id} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
        {ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}</select>
      <label for={id("password")}>{t("users.newPassword")}</label>
      <input id={id("password")} type="password" data-testid="user-edit-password" minLength={8} autocomplete="new-password" placeholder={t("users.keepPassword")} value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
      <FieldError err={err} name="password" />
      <fieldset data-testid="user-edit-lines"><legend>{t("users.lines")}</legend>
        {S.lines.length === 0 && <p class="muted">{t("users.noLines")}</p>}
        {S.lines.map((l) => (
          <div key={l.id} class="row wrap" data-testid="user-line" data-line-id={l.id}>
            <b>{l.name}</b>{l.archived && <span class="chip">{t("lines.archived")}</span>}
            <label class="inline"><input type="checkbox" data-testid="user-line-operator" checked={lines[l.id]?.operator} onChange={() => toggle(l.id, "operator")} />{t("users.asOperator")}</label>
            <label class="inline"><input type="checkbox" data-testid="user-line-supervisor" checked={lines[l.id]?.supervisor} onChange={() => toggle(l.id, "supervisor")} />{t("users.asSupervisor")}</label>
          </div>
        ))}
      </fieldset>
      <FieldError err={err} name="form" fields={["name", "email", "password"]} />
      <div class="row"><button class="primary" type="submit" data-testid="user-edit-save">{t("act.save")}</button>
        <button type="button" onClick={() => done(false)}>{t("act.cancel")}</button></div>
    </form>
  );
}

export function Users() {
  const [users, setUsers] = useState<User[]>([]);
  const [refused, setRefused] = useState<unknown>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [deactivating, setDeactivating] = useState<User | null>(null);
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
  const edited = users.find((u) => u.id === editing);
  return (
    <div class="page">
      <h2>{t("users.title")}</h2>
      <table class="cards">
        <thead><tr><th>{t("users.name")}</th><th>{t("users.email")}</th><th>{t("users.role")}</th><th>{t("users.lines")}</th><th>{t("users.state")}</th><th /></tr></thead>
        <tbody>{users.map((u) => (
          <tr key={u.id} data-testid="user-row" data-user-id={u.id}><td class="card-title">{u.name}</td><td data-label={t("users.email")}>{u.email}</td>
            <td data-label={t("users.role")}><select aria-label={t("users.role")} value={u.role} disabled={u.id === S.me!.id} onChange={(e) => patch(u.id, { role: (e.target as HTMLSelectElement).value as Role })}>{ROLES.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}</select></td>
            <td data-label={t("users.lines")} data-testid="user-lines">{S.lines.filter((l) => l.operators.includes(u.id) || l.supervisors.includes(u.id)).map((l) => l.name).join(", ") || "—"}</td>
            <td data-label={t("users.state")}>{t(u.active ? "users.active" : "users.inactive")}</td>
            <td><div class="row wrap">
              <button data-testid="user-edit" aria-label={`${t("act.edit")}: ${u.name}`} onClick={() => setEditing(editing === u.id ? null : u.id)}>{t("act.edit")}</button>
              {u.id !== S.me!.id && (u.active
                ? <button class="danger" data-testid="user-deactivate" onClick={() => setDeactivating(u)}>{t("users.deactivate")}</button>
                : <button data-testid="user-activate" onClick={() => patch(u.id, { active: true })}>{t("users.activate")}</button>)}
            </div></td></tr>
        ))}</tbody>
      </table>
      {edited && <UserEditor key={edited.id} user={edited} done={(saved) => { setEditing(null); if (saved) reload(); }} />}
      {deactivating && (
        <Confirm title={t("users.deactivateTitle", { name: deactivating.name })} action={t("users.deactivate")}
          run={() => api.patchUser(deactivating.id, { active: false }).then(reload)} close={() => setDeactivating(null)}>
          <p>{t("users.deactivateText")}</p>
        </Confirm>
      )}
      <form class="card form stack" onSubmit={submit}>
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
