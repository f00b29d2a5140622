/** Loads `supabase/seed.sql` (demo data) in one transaction. */
import type postgres from "postgres";

const seedFile = new URL("../../supabase/seed.sql", import.meta.url);

export async function seed(sql: postgres.Sql): Promise<void> {
  const text = await Deno.readTextFile(seedFile);
  await sql.begin((tx) => tx.unsafe(text));
}

/** True when the demo data is already there (a reused development cluster). */
export async function isSeeded(sql: postgres.Sql): Promise<boolean> {
  const [row] =
    await sql`select exists (select 1 from public.clinics where code = 'GFC-TP') as seeded`;
  return row.seeded;
}
