/** @jsxImportSource preact */
/**
 * The live queue: called and in consultation, waiting in call order, finished today. Cancel and
 * no-show ask first; a cancelled or no-show ticket can be restored from "Finished today".
 */
import { useState } from "preact/hooks";
import { serverNow } from "../lib/clock.ts";
import { staff, type StaffTicket, type TicketAction } from "../lib/endpoints.ts";
import { StatusChip } from "../lib/ui.tsx";
import { Confirm } from "./confirm.tsx";
import { confirmAction, priorityName, queueView, ticketActions, ticketTiming } from "./state.ts";
import { t as tr } from "./messages.ts";
import { run, session, tickets, tz } from "./store.ts";

function TicketRow(props: { t: StaffTicket }) {
  const t = props.t;
  const [busy, setBusy] = useState(false);
  const [asking, setAsking] = useState<[TicketAction, string] | null>(null);
  async function act(action: TicketAction, label: string) {
    setAsking(null);
    setBusy(true);
    await run(`${label} ${t.code}`, () => staff.act(session, t.id, action));
    setBusy(false);
  }
  const question = asking && confirmAction(asking[0], t);
  return (
    <tr>
      <th scope="row" class="code">{t.code}</th>
      <td>
        {t.patient_name ?? <span class="muted">{tr("queue.walkIn")}</span>}
        {t.priority ? <span class="status warn">{priorityName(t.priority)}</span> : null}
      </td>
      <td>{t.doctor_name ?? tr("queue.anyDoctor")}</td>
      <td>
        <StatusChip status={t.status} /> {t.room ?? ""}
      </td>
      <td>{ticketTiming(t, serverNow(), tz())}</td>
      <td class="actions">
        {ticketActions(t.status).map(([action, label]) => (
          <button
            key={action}
            type="button"
            class={`btn small ${action === "start" || action === "complete" ? "" : "secondary"}`}
            disabled={busy}
            onClick={() =>
              confirmAction(action, t) ? setAsking([action, label]) : act(action, label)}
          >
            {label}
            <span class="visually-hidden">{` ${t.code}`}</span>
          </button>
        ))}
        {asking && question && (
          <Confirm
            {...question}
            onYes={() => act(...asking)}
            onNo={() => setAsking(null)}
          />
        )}
      </td>
    </tr>
  );
}

function TicketTable(props: { caption: string; list: StaffTicket[]; empty: string }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={props.caption}>
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{tr("col.ticket")}</th>
            <th scope="col">{tr("col.patient")}</th>
            <th scope="col">{tr("col.doctor")}</th>
            <th scope="col">{tr("col.status")}</th>
            <th scope="col">{tr("col.timing")}</th>
            <th scope="col">{tr("col.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {props.list.map((t) => <TicketRow key={t.id} t={t} />)}
          {props.list.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">{props.empty}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Queue() {
  const list = tickets.value;
  if (!list) return <p role="status" class="muted">{tr("queue.loading")}</p>;
  const { now, waiting, done } = queueView(list);
  return (
    <section class="panel" aria-labelledby="queue-h">
      <h2 id="queue-h">
        {tr("queue.title")}{" "}
        <span class="muted count">{tr("queue.waitingCount", { n: waiting.length })}</span>
      </h2>
      <TicketTable caption={tr("queue.now")} list={now} empty={tr("queue.noneCalled")} />
      <TicketTable caption={tr("queue.waiting")} list={waiting} empty={tr("queue.noneWaiting")} />
      <details>
        <summary>{tr("queue.finishedToday", { n: done.length })}</summary>
        <TicketTable caption={tr("queue.finished")} list={done} empty={tr("queue.nothing")} />
      </details>
    </section>
  );
}
