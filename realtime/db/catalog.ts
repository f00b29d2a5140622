/**
 * What the realtime server reads from the database catalog: type names (for pgoutput
 * columns), the tables of the client publication with their columns, which columns each
 * client role may SELECT (column privileges), RLS flags and roles that bypass RLS.
 */
import type { Sql } from "postgres";
import type { Column } from "../changes/types.ts";

export const CLIENT_ROLES = ["anon", "authenticated", "service_role"] as const;

export interface TableInfo {
  schema: string;
  table: string;
  columns: Column[];
  rls: boolean;
  /** Role → columns it may SELECT (absent or empty: none). */
  selectable: Map<string, ReadonlySet<string>>;
}

export interface Catalog {
  typeName(oid: number): string;
  table(schema: string, table: string): TableInfo | undefined;
  tables(schema: string): string[];
  /** True for roles with BYPASSRLS (or superuser). */
  bypassesRls(role: string): boolean;
  refresh(): Promise<void>;
}

export async function loadCatalog(sql: Sql, publication: string): Promise<Catalog> {
  let types = new Map<number, string>();
  let tables = new Map<string, TableInfo>();
  let bypass = new Set<string>();

  async function refresh(): Promise<void> {
    const typeRows = await sql<{ oid: number; typname: string }[]>`
      select oid::int as oid, typname from pg_type`;
    const nextTypes = new Map(typeRows.map((r) => [r.oid, r.typname]));
    const tableRows = await sql<{ schema: string; table: string; rls: boolean }[]>`
      select p.schemaname as schema, p.tablename as table, c.relrowsecurity as rls
      from pg_publication_tables p
      join pg_class c on c.oid = format('%I.%I', p.schemaname, p.tablename)::regclass
      where p.pubname = ${publication}`;
    const columnRows = await sql<
      { schema: string; table: string; name: string; type: string; roles: string[] }[]
    >`
      select n.nspname as schema, c.relname as table, a.attname as name, t.typname as type,
             array(select r from unnest(${CLIENT_ROLES as unknown as string[]}::text[]) r
                   where has_column_privilege(r, c.oid, a.attnum, 'SELECT')) as roles
      from pg_publication_tables p
      join pg_class c on c.oid = format('%I.%I', p.schemaname, p.tablename)::regclass
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      join pg_type t on t.oid = a.atttypid
      where p.pubname = ${publication}
      order by n.nspname, c.relname, a.attnum`;
    const nextTables = new Map<string, TableInfo>();
    for (const t of tableRows) {
      nextTables.set(`${t.schema}.${t.table}`, {
        schema: t.schema,
        table: t.table,
        rls: t.rls,
        columns: [],
        selectable: new Map(),
      });
    }
    for (const c of columnRows) {
      const info = nextTables.get(`${c.schema}.${c.table}`);
      if (!info) continue;
      info.columns.push({ name: c.name, type: c.type });
      for (const role of c.roles) {
        const set = (info.selectable.get(role) ?? new Set<string>()) as Set<string>;
        set.add(c.name);
        info.selectable.set(role, set);
      }
    }
    const roleRows = await sql<{ rolname: string }[]>`
      select rolname from pg_roles where rolbypassrls or rolsuper`;
    types = nextTypes;
    tables = nextTables;
    bypass = new Set(roleRows.map((r) => r.rolname));
  }

  await refresh();
  return {
    typeName: (oid) => types.get(oid) ?? "text",
    table: (schema, table) => tables.get(`${schema}.${table}`),
    tables: (schema) => [...tables.values()].filter((t) => t.schema === schema).map((t) => t.table),
    bypassesRls: (role) => bypass.has(role),
    refresh,
  };
}
