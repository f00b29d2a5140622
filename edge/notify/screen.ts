/**
 * The PWA screen a notification opens (web/src/app/main.tsx's routes), from the ids in its
 * `data`: a queue ticket → "my visit", an appointment → that appointment, else the inbox.
 */
export function notificationScreen(data: Record<string, unknown> | null | undefined): string {
  const id = (key: string) => {
    const value = data?.[key];
    return typeof value === "string" && /^[0-9a-f-]{36}$/i.test(value) ? value : null;
  };
  if (id("ticket_id")) return "/visit";
  const appointment = id("appointment_id");
  if (appointment) return `/appointments/${appointment}`;
  return "/notifications";
}
