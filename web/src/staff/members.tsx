/** @jsxImportSource preact */
/**
 * The clinic's staff, for its admins: invite by e-mail (the invitee gets a single-use link),
 * withdraw a pending invitation, change a member's role, end a membership. The API decides
 * (admins only, the last admin stays); this panel shows its answers.
 */
import { useEffect, useState } from "preact/hooks";
import { staff, type StaffList, type StaffRole } from "../lib/endpoints.ts";
import { Confirm } from "./confirm.tsx";
import { run, say, session } from "./store.ts";
import { t } from "./messages.ts";

const ROLES: StaffRole[] = ["doctor", "nurse", "staff", "admin"];

type Member = StaffList["members"][number];

function RoleSelect(
  props: { id: string; value: StaffRole; onChange: (role: StaffRole) => void },
) {
  return (
    <select
      id={props.id}
      value={props.value}
      onChange={(e) => props.onChange(e.currentTarget.value as StaffRole)}
    >
      {ROLES.map((r) => <option key={r} value={r}>{t(`members.role.${r}`)}</option>)}
    </select>
  );
}

export function Members(props: { code: string }) {
  const [list, setList] = useState<StaffList | null>(null);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<StaffRole>("nurse");
  const [removing, setRemoving] = useState<Member | null>(null);
  const reload = () => staff.staffList(session, props.code).then(setList);
  useEffect(() => {
    run(t("members.title"), reload);
  }, [props.code]);

  async function invite(e: Event) {
    e.preventDefault();
    await run(t("members.invite"), async () => {
      await staff.invite(session, props.code, email, role);
      say("success", t("members.invited", { email }));
      setEmail("");
      await reload();
    });
  }

  async function change(m: Member, next: StaffRole) {
    await run(t("members.changeRole"), async () => {
      await staff.setRole(session, props.code, m.user_id, next);
      say(
        "success",
        t("members.roleChanged", { name: m.full_name, role: t(`members.role.${next}`) }),
      );
      await reload();
    });
  }

  async function remove(m: Member) {
    setRemoving(null);
    await run(t("members.remove"), async () => {
      await staff.removeMember(session, props.code, m.user_id);
      say("success", t("members.removed", { name: m.full_name }));
      await reload();
    });
  }

  async function withdraw(id: string, address: string) {
    await run(t("members.withdraw"), async () => {
      await staff.withdrawInvitation(session, props.code, id);
      say("success", t("members.withdrawn", { email: address }));
      await reload();
    });
  }

  return (
    <section class="panel" aria-labelledby="members-h">
      <h2 id="members-h">{t("members.title")}</h2>
      <form class="stack" onSubmit={invite}>
        <label for="invite-email">{t("members.email")}</label>
        <input
          id="invite-email"
          type="email"
          required
          maxLength={254}
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <label for="invite-role">{t("members.roleLabel")}</label>
        <RoleSelect id="invite-role" value={role} onChange={setRole} />
        <button class="btn" type="submit">{t("members.invite")}</button>
      </form>
      {!list && <p role="status" class="muted">{t("members.loading")}</p>}
      {list && list.invitations.length > 0 && (
        <>
          <h3>{t("members.pending")}</h3>
          <ul class="boards">
            {list.invitations.map((i) => (
              <li key={i.id} data-invitation={i.email}>
                <strong>{i.email}</strong>
                <span class="muted">
                  {` ${t(`members.role.${i.role}`)}${
                    i.expired ? ` · ${t("members.expired")}` : ""
                  }`}
                </span>
                <button
                  class="btn small secondary"
                  type="button"
                  onClick={() => withdraw(i.id, i.email)}
                >
                  {t("members.withdraw")}
                  <span class="visually-hidden">{` ${i.email}`}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {list && (
        <ul class="boards">
          {list.members.map((m) => (
            <li key={m.user_id} data-member={m.email}>
              <strong>{m.full_name}</strong>
              <span class="muted">{` ${m.email}`}</span>
              <span class="row">
                <label class="visually-hidden" for={`role-${m.user_id}`}>
                  {t("members.roleOf", { name: m.full_name })}
                </label>
                <RoleSelect
                  id={`role-${m.user_id}`}
                  value={m.role}
                  onChange={(next) => change(m, next)}
                />
                <button class="btn small danger" type="button" onClick={() => setRemoving(m)}>
                  {t("members.remove")}
                  <span class="visually-hidden">{` ${m.full_name}`}</span>
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
      {removing && (
        <Confirm
          title={t("members.removeTitle", { name: removing.full_name })}
          body={t("members.removeBody")}
          yes={t("members.remove")}
          no={t("members.keep")}
          onYes={() => remove(removing)}
          onNo={() => setRemoving(null)}
        />
      )}
    </section>
  );
}
